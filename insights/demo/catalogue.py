"""The demo's fixed world: projects and what they deploy where, test modules, job odds, the people who roll back.

Only the history drawn from it is random; these names are also how a second seeding is recognised.
"""

REGISTRY = "registry.example.com"

# (key, name, activity, services as (name, type)); activity scales the number of runs per day.
PROJECTS = (
    ("shop", "Online shop", 1.0, (("web", "k8s"), ("cart", "k8s"), ("order", "helm"), ("gateway", "helm_chart"))),
    ("payments", "Payments", 0.8, (("pay-api", "k8s"), ("ledger", "helm"), ("risk", "k8s"), ("settlement", "vm"))),
    ("search", "Search platform", 0.6, (("query", "k8s"), ("indexer", "helm"), ("crawler", "vm"))),
    ("iot", "IoT gateway", 0.4, (("device-api", "k8s"), ("mqtt-broker", "helm_chart"), ("firmware", "vm"))),
)
CLUSTERS = ("prod-bj-1", "prod-sh-1", "staging-sh", "dev-sh")
# (name, production, cluster); payments keeps a second production environment for disaster recovery.
ENVIRONMENTS = (("dev", False, "dev-sh"), ("qa", False, "staging-sh"), ("staging", False, "staging-sh"))
PRODUCTION = {"shop": (("prod", "prod-bj-1"),), "payments": (("prod", "prod-bj-1"), ("prod-dr", "prod-sh-1"))}
DEFAULT_PRODUCTION = (("prod", "prod-sh-1"),)
WORKFLOWS = ("ci-dev", "qa-deploy", "release", "hotfix", "nightly-test", "ops")
# Test modules: (name, median seconds, initial cases, cases added per day).
TEST_MODULES = (("unit", 150, 800, 1.5), ("integration", 600, 180, 0.4), ("e2e", 1200, 45, 0.1), ("smoke", 90, 16, 0.0))
# Job outcome odds by type: (failed, timeout, cancelled); the rest pass.
OUTCOMES = {
    "build": (0.06, 0.01, 0.02),
    "deploy": (0.04, 0.02, 0.01),
    "test": (0.10, 0.03, 0.02),
    "other": (0.03, 0.0, 0.02),
}
TIMEOUT_SECONDS = {"build": 1800, "deploy": 600, "test": 3600, "other": 300}
USERS = (
    ("admin", "admin", "system"),
    ("liwei", "李伟", "ldap"),
    ("zhangmin", "张敏", "ldap"),
    ("wangfang", "王芳", "oauth"),
)
