from django.conf import settings
from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ('governance', '0006_department_carry_forward_unexported'),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.AddIndex(
            model_name='component',
            index=models.Index(fields=['name'], name='component_name_idx'),
        ),
    ]
