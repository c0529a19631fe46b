import os

from django.core.wsgi import get_wsgi_application

from lti_config.startup import keys_required

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "lti_config.settings")
keys_required()  # production refuses to serve without its keys (docs/production.md)
application = get_wsgi_application()
