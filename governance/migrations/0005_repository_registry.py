"""The repository registry: a normalised key per repository, and one component per
repository (one-to-one bindings). Bindings the old code allowed to be shared (the attack:
a second component naming another team's repository) are undone here, keeping the
oldest component's; the newer ones are printed and lose theirs."""

import os
from urllib.parse import unquote, urlsplit

import django.db.models.deletion
from django.db import migrations, models

import core.validators


def _key(url: str) -> str:
    # A frozen copy of vcs.normalize_url as it was when this migration was written.
    if url.startswith("file://"):
        path = os.path.realpath(url[len("file://") :])
        for suffix in ("/.git", ".git"):
            if path.endswith(suffix) and len(path) > len(suffix):
                path = path[: -len(suffix)]
                break
        return "file://" + path.rstrip("/")
    parts = urlsplit(url)
    host = (parts.hostname or "").lower().rstrip(".")
    if ":" in host:
        host = f"[{host}]"
    netloc = host if parts.port in (None, 443) else f"{host}:{parts.port}"
    path = unquote(parts.path).rstrip("/")
    if path.endswith(".git"):
        path = path[: -len(".git")].rstrip("/")
    return f"{parts.scheme.lower()}://{netloc}{path}"


def fill_keys(apps, schema_editor):
    Repository = apps.get_model("governance", "Repository")
    seen = set()
    for repository in Repository.objects.order_by("pk"):
        key = _key(repository.url)
        if key in seen:  # an alias registered twice: kept apart, the office can merge them
            key = f"{key}#{repository.pk}"
        seen.add(key)
        repository.key = key
        repository.save(update_fields=["key"])


def undo_shared_bindings(apps, schema_editor):
    Component = apps.get_model("governance", "Component")
    holders = {}
    for component in Component.objects.order_by("created_at", "pk"):
        changed = []
        for field in ("internal_repository_id", "external_repository_id"):
            repository_id = getattr(component, field)
            if repository_id is None:
                continue
            if repository_id in holders:
                print(
                    f"\n  {component.slug}: repository #{repository_id} is already bound to "
                    f"{holders[repository_id]}; unbound from {component.slug}."
                )
                setattr(component, field, None)
                changed.append(field.removesuffix("_id"))
            else:
                holders[repository_id] = component.slug
        if changed:
            component.save(update_fields=changed)


class Migration(migrations.Migration):
    dependencies = [
        ("governance", "0004_external_repository"),
    ]

    operations = [
        migrations.AddField(
            model_name="repository",
            name="key",
            field=models.CharField(max_length=600, null=True),
        ),
        migrations.RunPython(fill_keys, migrations.RunPython.noop),
        migrations.AlterField(
            model_name="repository",
            name="key",
            field=models.CharField(max_length=600, unique=True),
        ),
        migrations.RunPython(undo_shared_bindings, migrations.RunPython.noop),
        migrations.AlterField(
            model_name="component",
            name="internal_repository",
            field=models.OneToOneField(
                blank=True, null=True, on_delete=django.db.models.deletion.PROTECT,
                related_name="internal_component", to="governance.repository",
            ),
        ),
        migrations.AlterField(
            model_name="component",
            name="external_repository",
            field=models.OneToOneField(
                blank=True, null=True, on_delete=django.db.models.deletion.PROTECT,
                related_name="external_component", to="governance.repository",
            ),
        ),
        migrations.AlterField(
            model_name="component",
            name="name",
            field=models.CharField(
                max_length=120, validators=[core.validators.NoControlCharacters()]
            ),
        ),
        migrations.AlterField(
            model_name="department",
            name="name",
            field=models.CharField(
                max_length=100, validators=[core.validators.NoControlCharacters()]
            ),
        ),
        migrations.AlterField(
            model_name="checklistquestion",
            name="text",
            field=models.CharField(
                max_length=300, validators=[core.validators.NoControlCharacters()]
            ),
        ),
    ]
