"""Human-readable reports: what ``inspect`` shows of one converted monograph."""

from __future__ import annotations

from .build import BUILDERS
from .convert import Conversion
from .model import DosageInstruction


def describe_dosage(d: DosageInstruction) -> str:
    """A one-line summary of the structure found in a Dosage ("rate 0.5-1 g/kg/d; 2-3 per 1 d")."""
    parts: list[str] = []
    if d.sequence:
        parts.append(f"step {d.sequence}")
    if d.route:
        parts.append(f"route {d.route.text}" + (f" [{d.route.codings[0].code}]" if d.route.codings else ""))
    for dr in d.dose_and_rate:
        if dr.range:
            parts.append(f"{dr.kind.value} {dr.range.low.value}-{dr.range.high.value} {dr.range.high.code}")
        elif dr.quantity:
            parts.append(f"{dr.kind.value} {dr.quantity.value} {dr.quantity.code}")
    t = d.timing
    if t and not t.is_empty():
        if t.frequency is not None:
            freq = f"{t.frequency}" + (f"-{t.frequency_max}" if t.frequency_max else "")
            period = f"{t.period}" + (f"-{t.period_max}" if t.period_max else "")
            parts.append(f"{freq} per {period} {t.period_unit}")
        if t.bounds_duration:
            parts.append(f"for {t.bounds_duration.value} {t.bounds_duration.code}")
        if t.bounds_range:
            parts.append(f"for {t.bounds_range.low.value}-{t.bounds_range.high.value} {t.bounds_range.high.code}")
    if d.max_dose_per_period:
        r = d.max_dose_per_period
        parts.append(f"max {r.numerator.value} {r.numerator.code} per {r.denominator.value} {r.denominator.code}")
    if d.max_dose_per_administration:
        q = d.max_dose_per_administration
        parts.append(f"max {q.value} {q.code} per dose")
    return "; ".join(parts) if parts else "text only"


def inspect_text(conversion: Conversion) -> str:
    k = conversion.knowledge
    m = k.monograph
    destinations = BUILDERS[conversion.fhir_version].destinations
    lines = [f"{m.path}: {m.title} -> MedicationKnowledge/{k.slug} (FHIR {conversion.fhir_version})",
             f"  status: {'inactive (banned)' if m.is_banned else 'active'}; "
             f"code: {', '.join(c.system + '|' + c.code for c in k.code.codings) or 'text only'}", ""]
    lines.append("Sections:")
    for top in m.sections:
        for s in top.walk():
            lines.append(f"  {'  ' * (s.level - 2)}{m.path}:{s.line} {s.title} [{s.key}] ({len(s.items)} items)")
    lines.append("")
    lines.append("Statements:")
    for p in k.placements:
        kind = "structured" if p.structured else "text only"
        lines.append(f"  {p.source}  {destinations.get(p.destination, p.destination)} ({kind})")
        lines.append(f"      {p.text[:160]}")
    lines.append("")
    lines.append("Dosages:")
    for g in k.guidelines:
        for group in g.groups:
            for d in group.dosages:
                lines.append(f"  {d.source}  [{group.label}] {describe_dosage(d)}")
    lines.append("")
    lines.append("Monitoring: " + (", ".join(
        p.concept.text + (f" [{p.concept.codings[0].code}]" if p.concept.codings else "") for p in k.monitoring) or "none"))
    lines.append("")
    lines.append("Unmapped phrases (kept as text):")
    lines.extend(f"  {u.source}  {u.table}: {u.phrase}" for u in k.unmapped)
    if not k.unmapped:
        lines.append("  none")
    return "\n".join(lines)
