"""What a DORA figure is computed over: filters by project key, service name and environment name."""

from dataclasses import dataclass

from django.db.models import Q


@dataclass(frozen=True)
class Scope:
    """Filters; an empty tuple means all. Unknown names match nothing. Only production environments
    ever count, so naming a non-production environment gives empty figures."""

    projects: tuple[str, ...] = ()  # project keys
    services: tuple[str, ...] = ()  # service names (a job without a service is left out when given)
    environments: tuple[str, ...] = ()  # environment names

    def jobs(self, prefix: str = "") -> Q:
        """The filter on production deploy jobs (`prefix` reaches them from another model)."""
        q = Q(
            **{
                f"{prefix}type": "deploy",
                f"{prefix}finished_at__isnull": False,
                f"{prefix}environment__production": True,
            }
        )
        if self.projects:
            q &= Q(**{f"{prefix}project__key__in": self.projects})
        if self.services:
            q &= Q(**{f"{prefix}service__name__in": self.services})
        if self.environments:
            q &= Q(**{f"{prefix}environment__name__in": self.environments})
        return q

    def rollbacks(self) -> Q:
        q = Q(production=True)
        if self.projects:
            q &= Q(project__key__in=self.projects)
        if self.services:
            q &= Q(service_name__in=self.services)
        if self.environments:
            q &= Q(env_name__in=self.environments)
        return q
