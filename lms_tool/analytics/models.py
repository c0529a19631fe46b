from .risk_models import LearnerRisk, RiskSettings

__all__ = ["LearnerRisk", "RiskSettings"]
