from django.db import models


class ScanStatus(models.TextChoices):
    QUEUED = "queued", "Queued"
    RUNNING = "running", "Running"
    DONE = "done", "Done"
    FAILED = "failed", "Failed"
    INCOMPLETE = "incomplete", "Incomplete"


FINISHED_STATUSES = [ScanStatus.DONE, ScanStatus.FAILED, ScanStatus.INCOMPLETE]


class FindingKind(models.TextChoices):
    LICENSE = "license", "License"
    COPYRIGHT = "copyright", "Copyright"
    SECRET = "secret", "Secret"
    INTERNAL_REF = "internal_ref", "Internal reference"
    HYGIENE = "hygiene", "Hygiene"
    DEPENDENCY = "dependency", "Dependency"


class Severity(models.TextChoices):
    INFO = "info", "Info"
    WARNING = "warning", "Warning"
    BLOCKING = "blocking", "Blocking"


class TriageState(models.TextChoices):
    OPEN = "open", "Open"
    FALSE_POSITIVE = "false_positive", "False positive"
    ACCEPTED_RISK = "accepted_risk", "Accepted risk"
    FIXED = "fixed", "Fixed"


# Which department reads (and triages) which kind of finding.
DEPARTMENT_KINDS: dict[str, list[str]] = {
    "legal": [FindingKind.LICENSE, FindingKind.COPYRIGHT],
    "security": [FindingKind.SECRET],
    "compliance": [FindingKind.INTERNAL_REF],
    "technical": [FindingKind.HYGIENE, FindingKind.DEPENDENCY],
}
KIND_DEPARTMENT = {kind: dept for dept, kinds in DEPARTMENT_KINDS.items() for kind in kinds}
