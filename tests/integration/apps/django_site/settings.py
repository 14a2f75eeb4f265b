"""A minimal Django project behind the Django middleware (two lines: ``MIDDLEWARE`` and ``ANTECHAMBER``)."""

from tests.integration.apps.common import OPTIONS

SECRET_KEY = "test-only"
DEBUG = False
ALLOWED_HOSTS = ["*"]
ROOT_URLCONF = "tests.integration.apps.django_site.urls"
MIDDLEWARE = ["antechamber.middleware.django.WaitingRoomMiddleware"]
ANTECHAMBER = OPTIONS
INSTALLED_APPS: list[str] = []
DATABASES: dict[str, object] = {}
USE_TZ = True
