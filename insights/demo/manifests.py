"""The manifests a rollback snapshot keeps, shaped like Zadig's so the admin shows what an operator would see."""


def hash_port(name: str) -> int:
    return sum(name.encode()) % 1000


def rendered_yaml(project: str, service: str, image: str, port: int) -> str:
    """A k8s Deployment + Service as Zadig renders it (after the seed's example)."""
    labels = f"app.kubernetes.io/instance: {service}\n      app.kubernetes.io/name: {project}"
    pod_labels = labels.replace("      ", "        ")
    return (
        "apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  creationTimestamp: null\n  labels:\n"
        f"    app.kubernetes.io/instance: {service}\n    app.kubernetes.io/name: {project}\n  name: {service}\n"
        f"spec:\n  replicas: 2\n  selector:\n    matchLabels:\n      {labels}\n  strategy: {{}}\n"
        f"  template:\n    metadata:\n      creationTimestamp: null\n      labels:\n        {pod_labels}\n"
        f"    spec:\n      containers:\n      - command:\n        - /workspace/{service}\n        image: {image}\n"
        f"        imagePullPolicy: Always\n        name: {service}\n        ports:\n        - containerPort: {port}\n"
        "          protocol: TCP\n        resources: {}\nstatus: {}\n\n---\napiVersion: v1\nkind: Service\n"
        f"metadata:\n  name: {service}\n  labels:\n    app.kubernetes.io/name: {project}\n"
        f"    app.kubernetes.io/instance: {service}\nspec:\n  type: NodePort\n  ports:\n    - protocol: TCP\n"
        f"      port: {port}\n      targetPort: {port}\n"
    )


def values_yaml(repository: str, tag: str) -> str:
    return (
        f"image:\n  repository: {repository}\n  tag: {tag}\n  pullPolicy: IfNotPresent\nreplicaCount: 2\n"
        "resources:\n  limits:\n    cpu: 500m\n    memory: 512Mi\n"
    )
