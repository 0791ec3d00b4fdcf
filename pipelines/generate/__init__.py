"""Sample data: a realistic county over consecutive terms, with ground truth (`truth.csv`)."""
from .county import GenerateSummary, generate
from .variants import write_variant

__all__ = ["generate", "GenerateSummary", "write_variant"]
