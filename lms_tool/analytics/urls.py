from .urls_results import urlpatterns as results_urls
from .urls_risk import urlpatterns as risk_urls

app_name = "analytics"

urlpatterns = [*results_urls, *risk_urls]
