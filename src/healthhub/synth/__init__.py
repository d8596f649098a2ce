"""Synthetic FHIR R4 data for a health data hub: people, providers and their records.

`generate` writes a Synthea-like population, with the noise of several providers keeping
records of the same people and a ground truth of who is who, as bulk NDJSON or as
transaction bundles. It needs no external data: every name, place and code it uses lives
in this package (`codes.emitted_codes()` lists the codes).
"""

from healthhub.synth.codes import emitted_codes
from healthhub.synth.generator import SynthError, SynthSummary, generate

__all__ = ["SynthError", "SynthSummary", "emitted_codes", "generate"]
