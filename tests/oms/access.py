from oms.services import job_create
from tests.access import ADMIN, ALL, NO_METHOD, PUBLIC, Rule


def _own_job(user, other):
    return [job_create(kind="test", title="t", actor=user).pk]


def _other_user(user, other):
    return [other.pk]


RULES = {
    "login": Rule(get=PUBLIC, post=PUBLIC),
    "logout": Rule(get=NO_METHOD, post=ALL),
    "set_language": Rule(get=PUBLIC, post=PUBLIC),
    "healthz": Rule(get=PUBLIC, post=PUBLIC),
    "dashboard": Rule(get=ALL),
    "search": Rule(get=ALL),
    "job_list": Rule(get=ALL),
    "job_detail": Rule(get=ALL, args=_own_job),
    "settings_home": Rule(get=ALL),
    "company": Rule(get=ALL, post=ADMIN),
    "password_change": Rule(get=ALL, post=ALL),
    "user_list": Rule(get=ADMIN),
    "user_bulk": Rule(get=NO_METHOD, post=ADMIN),
    "user_create": Rule(get=ADMIN, post=ADMIN),
    "user_edit": Rule(get=ADMIN, post=ADMIN, args=_other_user),
    "user_set_active": Rule(get=NO_METHOD, post=ADMIN, args=_other_user),
    "user_reset_password": Rule(get=NO_METHOD, post=ADMIN, args=_other_user),
    "audit_list": Rule(get=ADMIN),
}
