"""Secret fingerprints become HMACs under GATEHOUSE_FINGERPRINT_KEY: each stored one is
sealed exactly as the engine now computes it (the HMAC of the plain fingerprint), so triage
and waivers keep following their findings. Cached blob results that hold a secret's plain
value hash are dropped (they are a cache: the next scan reads those blobs again)."""

import hashlib
import hmac

from django.db import migrations


def _seal(key: bytes, plain: str) -> str:
    return hmac.new(key, plain.encode(), hashlib.sha256).hexdigest()


def seal_fingerprints(apps, schema_editor):
    from django.conf import settings

    key = settings.GATEHOUSE_FINGERPRINT_KEY
    Finding = apps.get_model("scans", "Finding")
    for finding in Finding.objects.filter(kind="secret").only("pk", "fingerprint").iterator(
        chunk_size=2000
    ):
        Finding.objects.filter(pk=finding.pk).update(fingerprint=_seal(key, finding.fingerprint))
    Waiver = apps.get_model("releases", "Waiver")
    for waiver in Waiver.objects.filter(finding_label__startswith="secret/").exclude(
        fingerprint=""
    ):
        waiver.fingerprint = _seal(key, waiver.fingerprint)
        waiver.save(update_fields=["fingerprint"])
    BlobResult = apps.get_model("scans", "BlobResult")
    doomed = [
        row.pk
        for row in BlobResult.objects.iterator(chunk_size=2000)
        if any(item.get("kind") == "secret" for item in row.findings)
    ]
    for start in range(0, len(doomed), 1000):
        BlobResult.objects.filter(pk__in=doomed[start : start + 1000]).delete()


class Migration(migrations.Migration):
    dependencies = [
        ("scans", "0002_four_eyes"),
        ("releases", "0004_backport_ranges"),
    ]

    operations = [
        migrations.RunPython(seal_fingerprints, migrations.RunPython.noop),
    ]
