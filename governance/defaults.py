"""The four reviewing departments Gatehouse starts with, and their checklists.

Departments are data: the open-source office edits them in the admin afterwards.
``ensure_default_departments`` creates what is missing and leaves edits alone.
"""

from __future__ import annotations

from django.contrib.auth.models import Group
from django.db import transaction

from governance.models import ChecklistQuestion, Department

DEFAULT_DEPARTMENTS: list[dict] = [
    {
        "slug": "technical",
        "name": "Technical",
        "sla_days": 5,
        "questions": [
            "The open paths build and pass their tests without any internal-only module.",
            "Public interfaces are documented and free of internal-only types.",
            "The Open Core boundary (open and internal paths) matches the code's structure.",
            "A maintainer is named to answer issues and review external contributions.",
            "No code depends on internal infrastructure (hosts, registries, build images).",
        ],
    },
    {
        "slug": "compliance",
        "name": "Compliance",
        "sla_days": 5,
        "questions": [
            "Publishing does not breach export-control or sanctions rules.",
            "No customer, client or personal data is present in code, tests or history.",
            "The release does not disclose regulated or confidential business logic.",
            "Records of this decision can be kept for the required retention period.",
        ],
    },
    {
        "slug": "legal",
        "name": "Legal",
        "sla_days": 10,
        "questions": [
            "The chosen license is compatible with the licenses of all dependencies.",
            "All contributors are employees or covered by a contributor agreement.",
            "Third-party code in the repository is identified and its notices are kept.",
            "No trademarks or product names are used without clearance.",
            "A contributor license agreement or DCO process is in place for outside contributions.",
        ],
    },
    {
        "slug": "security",
        "name": "Security",
        "sla_days": 5,
        "questions": [
            "The full git history has been reviewed for secrets and credentials.",
            "No internal hostnames, IP ranges or network layout are disclosed.",
            "Dependencies have no known critical vulnerabilities.",
            "A SECURITY policy names how to report vulnerabilities.",
            "Authentication and cryptography code has had a security review.",
        ],
    },
]


def ensure_default_departments() -> list[Department]:
    """Create the default departments, groups and checklists where missing. Idempotent."""
    departments = []
    with transaction.atomic():
        for position, spec in enumerate(DEFAULT_DEPARTMENTS):
            group, _ = Group.objects.get_or_create(name=f"{spec['name']} reviewers")
            department, created = Department.objects.get_or_create(
                slug=spec["slug"],
                defaults={
                    "name": spec["name"],
                    "reviewer_group": group,
                    "sla_days": spec["sla_days"],
                    "position": position,
                },
            )
            if created:
                ChecklistQuestion.objects.bulk_create(
                    ChecklistQuestion(department=department, position=i, text=text)
                    for i, text in enumerate(spec["questions"])
                )
            departments.append(department)
    return departments
