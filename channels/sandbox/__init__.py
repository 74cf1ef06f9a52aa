"""The sandbox marketplace: a fake marketplace served by the app itself in demo mode.

- models: channels/sandbox_models.py (registered through channels/models.py)
- services.py: every write (keys, confirm, dispatch, stock and product pushes, events)
- generator.py: buyers placing realistic orders, on a schedule (channels/tasks_sandbox.py)
- selectors.py: reads for the API and the page
- api.py + urls.py: the JSON API under /sandbox/api/ (token auth, CSRF-exempt)
- views.py: the 샌드박스 마켓 page (managers and admins)

It is served only while settings.OMS_SANDBOX_ENABLED is on (default: on with DEBUG).
"""
