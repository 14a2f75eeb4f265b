"""The operator's web dashboard, served by the API process at ``/dashboard``.

Server-rendered (Jinja2) with htmx and uPlot shipped in ``static/vendor`` (no build
step, no internet). Every read and every change goes through the management API
in-process (:mod:`antechamber.dashboard.in_process`), so the dashboard validates and
refuses exactly as the API does.
"""
