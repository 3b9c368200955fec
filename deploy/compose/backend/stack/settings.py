"""Settings of the demo backend: a small JSON API (Django REST Framework) over MySQL.

Everything a deployment changes comes from the environment:

    DATABASE_HOST      database        DATABASE_PORT      3306
    DATABASE_NAME      app             DATABASE_USER      app
    DATABASE_PASSWORD  app             DATABASE_CONNECT_TIMEOUT  2 (seconds)
    DJANGO_SECRET_KEY  (a demo key)    DJANGO_ALLOWED_HOSTS  * (comma-separated)
    DJANGO_LOG_LEVEL   INFO

CORS is done by the proxy in front (dockmaster), not here. There is no admin, no
session or user model: the API is open, as a demo's is.
"""
import os

BASE_DIR = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def env(name, default):
    value = os.environ.get(name, "")
    return value if value != "" else default


SECRET_KEY = env("DJANGO_SECRET_KEY", "demo-only-not-secret-set-DJANGO_SECRET_KEY-in-production")
DEBUG = False
ALLOWED_HOSTS = [h.strip() for h in env("DJANGO_ALLOWED_HOSTS", "*").split(",") if h.strip()]

INSTALLED_APPS = [
    "rest_framework",
    "items",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "django.middleware.common.CommonMiddleware",
]

ROOT_URLCONF = "stack.urls"
WSGI_APPLICATION = "stack.wsgi.application"
TEMPLATES = []

DATABASES = {
    "default": {
        "ENGINE": "django.db.backends.mysql",
        "HOST": env("DATABASE_HOST", "database"),
        "PORT": env("DATABASE_PORT", "3306"),
        "NAME": env("DATABASE_NAME", "app"),
        "USER": env("DATABASE_USER", "app"),
        "PASSWORD": env("DATABASE_PASSWORD", "app"),
        # A new connection per request: after a database restart no request meets a
        # dead pooled connection.
        "CONN_MAX_AGE": 0,
        "OPTIONS": {
            "charset": "utf8mb4",
            # A database that is down or unreachable fails a request (and /api/health)
            # in about this long instead of the OS's TCP timeout.
            "connect_timeout": int(env("DATABASE_CONNECT_TIMEOUT", "2")),
            "read_timeout": int(env("DATABASE_READ_TIMEOUT", "10")),
            "write_timeout": int(env("DATABASE_WRITE_TIMEOUT", "10")),
        },
    }
}
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
USE_I18N = False
USE_TZ = True

REST_FRAMEWORK = {
    # JSON only: no browsable API (it would need templates and sessions).
    "DEFAULT_RENDERER_CLASSES": ["rest_framework.renderers.JSONRenderer"],
    "DEFAULT_PARSER_CLASSES": ["rest_framework.parsers.JSONParser"],
    # No users: nothing to authenticate (and django.contrib.auth is not installed).
    "DEFAULT_AUTHENTICATION_CLASSES": [],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.AllowAny"],
    "UNAUTHENTICATED_USER": None,
    "EXCEPTION_HANDLER": "stack.exceptions.handler",
}

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s: %(message)s"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "plain"}},
    "root": {"handlers": ["console"], "level": "WARNING"},
    "loggers": {
        "django": {"handlers": ["console"], "level": env("DJANGO_LOG_LEVEL", "INFO"), "propagate": False},
    },
}
