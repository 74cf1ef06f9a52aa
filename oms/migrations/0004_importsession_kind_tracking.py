from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("oms", "0003_importsession"),
    ]

    operations = [
        migrations.AlterField(
            model_name="importsession",
            name="kind",
            field=models.CharField(
                choices=[
                    ("products", "Product sheet"),
                    ("stock", "Stock sheet"),
                    ("tracking", "Tracking number sheet"),
                ],
                max_length=16,
                verbose_name="kind",
            ),
        ),
    ]
