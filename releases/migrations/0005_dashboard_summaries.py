import django.db.models.deletion
from django.db import migrations, models


def tally_existing_findings(apps, schema_editor):
    """Tally the findings already there, so the counters and charts read them at once
    (the charts summary computes itself on its first read)."""
    from releases.summaries import tally_rows

    models_ = tuple(apps.get_model(*m.split(".")) for m in
                    ("scans.Finding", "scans.ScanRun", "releases.FindingTally"))  # fmt: skip
    Component = apps.get_model("governance", "Component")
    ids = list(Component.objects.order_by("pk").values_list("pk", flat=True))
    for start in range(0, len(ids), 1000):
        rows = tally_rows(component_ids=ids[start : start + 1000], models=models_)
        models_[2].objects.bulk_create(rows, batch_size=5000)


class Migration(migrations.Migration):

    dependencies = [
        ('governance', '0006_department_carry_forward_unexported'),
        ('releases', '0004_backport_ranges'),
        ('scans', '0006_scan_leases'),
    ]

    operations = [
        migrations.CreateModel(
            name='ChartSummary',
            fields=[
                ('id', models.PositiveSmallIntegerField(default=1, editable=False, primary_key=True, serialize=False)),
                ('computed_at', models.DateTimeField()),
                ('stale_since', models.DateTimeField(blank=True, null=True)),
                ('figures', models.JSONField(default=dict)),
            ],
        ),
        migrations.CreateModel(
            name='FindingTally',
            fields=[
                ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                ('finished_at', models.DateTimeField(blank=True, null=True)),
                ('superseded_at', models.DateTimeField(blank=True, null=True)),
                ('latest', models.BooleanField(default=False)),
                ('kind', models.CharField(max_length=16)),
                ('severity', models.CharField(max_length=10)),
                ('state', models.CharField(max_length=16)),
                ('confirmed', models.BooleanField(help_text='A second person confirmed the triage.')),
                ('triaged_at', models.DateTimeField(blank=True, null=True)),
                ('n', models.PositiveIntegerField()),
                ('component', models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name='+', to='governance.component')),
                ('scan', models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name='+', to='scans.scanrun')),
            ],
            options={
                'indexes': [models.Index(fields=['latest', 'severity'], name='releases_fi_latest_2d8da9_idx')],
            },
        ),
        migrations.RunPython(tally_existing_findings, migrations.RunPython.noop),
    ]
