from __future__ import annotations

from django.conf import settings
from django.contrib.auth.models import AbstractUser
from django.contrib.contenttypes.models import ContentType
from django.db import models
from django.utils.translation import gettext_lazy as _


class User(AbstractUser):
    """A back-office user. The role is the user's one group (see oms.roles)."""

    class Meta:
        swappable = "AUTH_USER_MODEL"
        verbose_name = _("user")
        verbose_name_plural = _("users")

    @property
    def display_name(self) -> str:
        full = f"{self.last_name}{self.first_name}".strip()
        return full or self.username


class AuditLog(models.Model):
    """Who did what to which object, and what changed. Written by oms.services.audit_record only."""

    at = models.DateTimeField(_("time"), auto_now_add=True, db_index=True)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("user"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    action = models.CharField(_("action"), max_length=64)
    content_type = models.ForeignKey(
        ContentType, verbose_name=_("object type"), null=True, blank=True, on_delete=models.SET_NULL
    )
    object_id = models.CharField(_("object id"), max_length=64, blank=True)
    object_repr = models.CharField(_("object"), max_length=200, blank=True)
    changes = models.JSONField(_("changes"), default=dict, blank=True)
    ip_address = models.GenericIPAddressField(_("IP address"), null=True, blank=True)

    class Meta:
        verbose_name = _("audit log entry")
        verbose_name_plural = _("audit log")
        indexes = [
            models.Index(fields=["actor", "-id"], name="audit_actor_idx"),
            models.Index(fields=["content_type", "object_id", "-id"], name="audit_object_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.at:%Y-%m-%d %H:%M} {self.action} {self.object_repr}"


class Job(models.Model):
    """A long-running piece of work (import, collect, push, dispatch) the user can watch."""

    class Status(models.TextChoices):
        QUEUED = "queued", _("Queued")
        RUNNING = "running", _("Running")
        SUCCEEDED = "succeeded", _("Succeeded")
        FAILED = "failed", _("Failed")

    kind = models.CharField(_("kind"), max_length=64)
    title = models.CharField(_("title"), max_length=200)
    status = models.CharField(_("status"), max_length=16, choices=Status.choices, default=Status.QUEUED)
    total = models.PositiveIntegerField(_("total"), default=0)
    done = models.PositiveIntegerField(_("done"), default=0)
    message = models.CharField(_("message"), max_length=500, blank=True)
    result = models.JSONField(_("result"), default=dict, blank=True)
    result_url = models.CharField(_("result page"), max_length=500, blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("created by"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    created_at = models.DateTimeField(_("created"), auto_now_add=True)
    started_at = models.DateTimeField(_("started"), null=True, blank=True)
    finished_at = models.DateTimeField(_("finished"), null=True, blank=True)

    class Meta:
        verbose_name = _("job")
        verbose_name_plural = _("jobs")
        constraints = [
            models.CheckConstraint(
                condition=models.Q(done__lte=models.F("total")) | models.Q(total=0), name="job_done_lte_total"
            ),
        ]

    def __str__(self) -> str:
        return self.title

    @property
    def is_finished(self) -> bool:
        return self.status in {self.Status.SUCCEEDED, self.Status.FAILED}

    @property
    def percent(self) -> int:
        if self.status == self.Status.SUCCEEDED:
            return 100
        if not self.total:
            return 0
        return min(100, int(self.done * 100 / self.total))


class Heartbeat(models.Model):
    """The last time a Celery worker ran the beat-scheduled heartbeat task."""

    name = models.CharField(max_length=64, primary_key=True)
    at = models.DateTimeField()
    hostname = models.CharField(max_length=200, blank=True)

    class Meta:
        verbose_name = _("heartbeat")
        verbose_name_plural = _("heartbeats")

    def __str__(self) -> str:
        return f"{self.name} {self.at:%Y-%m-%d %H:%M:%S}"


class Company(models.Model):
    """The seller's own company: the sender on courier sheets and packing slips. One row."""

    name = models.CharField(_("company name"), max_length=100)
    business_number = models.CharField(_("business registration number"), max_length=12, blank=True)
    representative = models.CharField(_("representative"), max_length=50, blank=True)
    phone = models.CharField(_("phone"), max_length=20, blank=True)
    email = models.EmailField(_("e-mail"), blank=True)
    zip_code = models.CharField(_("zip code"), max_length=7, blank=True)
    address = models.CharField(_("address"), max_length=200, blank=True)
    return_zip_code = models.CharField(_("return zip code"), max_length=7, blank=True)
    return_address = models.CharField(_("return address"), max_length=200, blank=True)
    updated_at = models.DateTimeField(_("updated"), auto_now=True)

    class Meta:
        verbose_name = _("company")
        verbose_name_plural = _("company")
        constraints = [models.CheckConstraint(condition=models.Q(id=1), name="company_single_row")]

    def __str__(self) -> str:
        return self.name


def _import_upload_to(instance: ImportSession, filename: str) -> str:
    # The stored name never uses the uploaded one (kept in original_name): no path tricks.
    import uuid
    from pathlib import PurePath

    suffix = PurePath(filename).suffix.lower()[:8]
    return f"imports/{instance.kind}/{uuid.uuid4().hex}{suffix}"


class ImportSession(models.Model):
    """One uploaded sheet between preview and commit (product or stock Excel upload).

    The file is kept under MEDIA_ROOT so the commit re-reads exactly what was previewed;
    `summary` holds the counts and the fingerprint of the previewed plan, `plan_file` the
    per-row preview (created / updated old -> new / unchanged / errors)."""

    class Kind(models.TextChoices):
        PRODUCTS = "products", _("Product sheet")
        STOCK = "stock", _("Stock sheet")
        TRACKING = "tracking", _("Tracking number sheet")

    class Status(models.TextChoices):
        VALIDATING = "validating", _("Checking")
        READY = "ready", _("Ready to apply")
        INVALID = "invalid", _("Has errors")
        COMMITTING = "committing", _("Applying")
        COMMITTED = "committed", _("Applied")
        CANCELLED = "cancelled", _("Cancelled")
        FAILED = "failed", _("Failed")

    kind = models.CharField(_("kind"), max_length=16, choices=Kind.choices)
    status = models.CharField(_("status"), max_length=16, choices=Status.choices, default=Status.VALIDATING)
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("uploaded by"),
        null=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    original_name = models.CharField(_("file name"), max_length=255)
    file = models.FileField(_("file"), upload_to=_import_upload_to, max_length=255, blank=True)
    plan_file = models.FileField(_("preview"), max_length=255, blank=True)
    size = models.PositiveIntegerField(_("size"), default=0)
    row_count = models.PositiveIntegerField(_("rows"), default=0)
    summary = models.JSONField(_("summary"), default=dict, blank=True)
    message = models.CharField(_("message"), max_length=500, blank=True)
    job = models.ForeignKey(
        Job, verbose_name=_("job"), null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(_("uploaded"), auto_now_add=True)
    committed_at = models.DateTimeField(_("applied"), null=True, blank=True)

    class Meta:
        verbose_name = _("import")
        verbose_name_plural = _("imports")
        indexes = [models.Index(fields=["kind", "owner", "-id"], name="importsession_owner_idx")]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} {self.original_name}"

    @property
    def is_busy(self) -> bool:
        return self.status in {self.Status.VALIDATING, self.Status.COMMITTING}

    @property
    def can_commit(self) -> bool:
        return self.status == self.Status.READY

    @property
    def counts(self) -> dict[str, int]:
        counts = self.summary.get("counts", {})
        return counts if isinstance(counts, dict) else {}
