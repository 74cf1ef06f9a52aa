from django.db import migrations

ROLE_GROUPS = ["관리자", "운영자", "작업자"]


def create_groups(apps, schema_editor):
    Group = apps.get_model("auth", "Group")
    for name in ROLE_GROUPS:
        Group.objects.get_or_create(name=name)


def remove_groups(apps, schema_editor):
    apps.get_model("auth", "Group").objects.filter(name__in=ROLE_GROUPS).delete()


class Migration(migrations.Migration):
    """The three roles. Their permissions are set from oms.roles after every migrate
    (post_migrate), so permissions of models added later are granted too."""

    dependencies = [("oms", "0001_initial"), ("auth", "0012_alter_user_first_name_max_length")]

    operations = [migrations.RunPython(create_groups, remove_groups)]
