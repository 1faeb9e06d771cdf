"""One vocabulary, the seed guide's (``Laskutusprosessi``), in every tab of the console.

- "Paina Valitse kaikki" (steps 3, 13, 20): one control, a button, in every list.
- The preview switch starts in the same position everywhere: on. Both places the guide
  names it tell the clerk to switch it *off* for the real thing ("Muista laittaa
  esikatselu pois, kun teet laskuja todella", step 14; "Ota esikatselu pois päältä, jos
  teet laskutusta oikeasti", step 22): a wrong click then previews, it never bills or
  sends.
- "Paina Lähetä laskut" (step 23) is a step of its own, after "Lähetä laskut
  sähköpostilla" (step 21) and the preview switch (step 22).
- The print channel has one name: *Tulostus*, as the channel list names channels by
  how they go out ("Valitse ensimmäinen kanava esim. SÄHKÖPOSTI", step 19; "Lähetä laskut
  tulostukseen"), never *Paperilasku* beside it.
"""

from __future__ import annotations

import re
from pathlib import Path

from console import i18n

TEMPLATES = Path(i18n.__file__).parent / "templates"
PRINT_KEYS = ("channels.print", "sending.channel.print", "customers.options.delivery_channel.print")


def _templates() -> dict[str, str]:
    return {str(p.relative_to(TEMPLATES)): p.read_text(encoding="utf-8") for p in TEMPLATES.rglob("*.html")}


def test_print_has_one_name_in_each_language() -> None:
    fi, en = i18n.messages("fi"), i18n.messages("en")
    assert [k for k, v in fi.items() if "paperi" in v.lower()] == []
    assert [k for k, v in en.items() if "paper" in v.lower()] == []
    assert {fi[k] for k in PRINT_KEYS} == {"Tulostus"}
    assert {en[k] for k in PRINT_KEYS} == {"Print"}
    assert fi["invoices.channel.print"] == "tulostus"
    assert en["invoices.channel.print"] == "print"


def test_select_all_is_the_same_button_in_every_list() -> None:
    uses = 0
    for name, text in _templates().items():
        keys = re.findall(r"""t\(["']([a-z_.]*select_all)["']\)""", text)
        button = r"""<button type="button"[^>]*\bdata-select-all\b[^>]*>"""
        buttons = re.findall(button + r"""\s*{{ t\(["'][a-z_.]*select_all["']\) }}\s*</button>""", text)
        assert len(buttons) == len(keys), f"{name}: 'Valitse kaikki' that is not the button"
        assert 'type="checkbox" name="select_all"' not in text, name
        uses += len(keys)
    # the reminders, collection, billing requests, drafts, sending and dead letters lists
    assert uses >= 6
    labels = {i18n.messages("fi")[k] for k in i18n.messages("fi") if k.endswith(".select_all")}
    assert labels == {"Valitse kaikki"}


def test_the_preview_switch_starts_on_everywhere() -> None:
    switches = {
        name: re.findall(r"""<input type="checkbox" name="preview"[^>]*>""", text)
        for name, text in _templates().items()
    }
    found = [(name, s) for name, found in switches.items() for s in found]
    assert {name for name, _ in found} >= {"billing/_requests.html", "sending/_waiting.html"}
    assert [(name, s) for name, s in found if " checked" not in s] == []


def test_send_invoices_is_a_step_of_its_own() -> None:
    fi, en = i18n.messages("fi"), i18n.messages("en")
    assert fi["sending.send_invoices"] == "Lähetä laskut"
    assert en["sending.send_invoices"] == "Send invoices"
    waiting = _templates()["sending/_waiting.html"]
    # step 21 opens the step (a button that sends nothing), step 23 is the form's submit
    assert re.search(
        r"""<button type="button"[^>]*data-send-step="open"[^>]*>\s*{{ t\("sending.send." ~ channel\) }}""", waiting
    )
    assert re.search(r"""<button type="submit"[^>]*data-send[ >][^<]*{{ t\("sending.send_invoices"\) }}""", waiting)
