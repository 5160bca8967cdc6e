"""The estimate of a campaign's list: every kind of bad row, and costs counted on the rendered text."""

from __future__ import annotations

from decimal import Decimal

from atende.domain.campaign_csv import read_csv
from atende.domain.campaign_estimate import Estimate, Exclusion, MessageSpec, Recipient, Screener, phone_display
from atende.domain.sms import count_segments

CSV = """telefone;nome;valor
(48) 99191-0234;Ana;R$ 10,00
48991910234;Ana de novo;R$ 11,00
abc;Caio;R$ 1,00
;Sem número;R$ 1,00
(48) 3222-1234;Fixo;R$ 2,00
+1 650 253 0000;Estrangeiro;R$ 3,00
11988887777;Bruno;
21977776666;Opt-out;R$ 4,00
31966665555;Bloqueado;R$ 5,00
51955554444;Joana;R$ 6,00
"""


def _screen(spec: MessageSpec, *, channel: str = "sms") -> tuple[Estimate, list[Recipient | Exclusion]]:
    estimate = Estimate(Decimal("0.08"))
    screener = Screener(channel, spec, Decimal("0.08"))
    _, rows = read_csv(CSV)
    out: list[Recipient | Exclusion] = []
    for row in rows:
        checked = screener.check(row)
        if isinstance(checked, Exclusion):
            item: Recipient | Exclusion = checked
        else:
            item = screener.finish(row, checked, opted_out=checked == "+5521977776666",
                                   blocked="número na blacklist da Kolmeya" if checked == "+5531966665555" else None)
        estimate.add(item)
        out.append(item)
    return estimate, out


def test_every_kind_of_bad_row_is_counted_with_its_reason() -> None:
    estimate, items = _screen(MessageSpec(text="Olá {{nome}}, sua fatura de {{valor}} vence amanhã."))
    reasons = [(i.row_no, i.reason) for i in items if isinstance(i, Exclusion)]
    assert reasons == [(2, "duplicate"), (3, "invalid"), (4, "invalid"), (5, "blocked"), (6, "blocked"),
                       (7, "missing_vars"), (8, "opted_out"), (9, "blocked")]
    result = estimate.as_dict()
    assert result["rows"] == 10 and result["recipients"] == 2
    assert result["excluded"] == {"opted_out": 1, "duplicate": 1, "invalid": 2, "blocked": 3}
    assert result["missing_vars"] == 1 and result["missing_by_var"] == {"valor": 1}
    kept = [i for i in items if isinstance(i, Recipient)]
    assert [k.address for k in kept] == ["+5548991910234", "+5551955554444"]
    assert kept[0].text == "Olá Ana, sua fatura de R$ 10,00 vence amanhã."


def test_costs_are_counted_on_each_rendered_text() -> None:
    # Ana's text stays GSM-7 in one part; Joana's name pushes the same text over 160 characters.
    text = "Prezada {{nome}}, lembramos que a parcela de {{valor}} do seu contrato vence hoje. " + "x" * 60
    estimate, items = _screen(MessageSpec(text=text))
    kept = [i for i in items if isinstance(i, Recipient)]
    for k in kept:
        assert k.segments == count_segments(k.text).segments
        assert k.cost == Decimal("0.08") * k.segments
    assert estimate.segments == sum(k.segments for k in kept)
    assert Decimal(estimate.as_dict()["cost"]) == sum(k.cost for k in kept)


def test_an_accent_in_one_row_makes_only_that_row_ucs2() -> None:
    spec = MessageSpec(text="Ola {{nome}}: " + "a" * 62)
    estimate, screener = Estimate(Decimal("0.08")), Screener("sms", spec, Decimal("0.08"))
    _, rows = read_csv("telefone;nome\n48991910234;Ana\n48991910235;João\n")
    kept = {}
    for row in rows:
        address = screener.check(row)
        assert isinstance(address, str)
        item = screener.finish(row, address)
        assert isinstance(item, Recipient)
        estimate.add(item)
        kept[item.values["nome"]] = item
    assert kept["Ana"].encoding == "gsm7" and kept["João"].encoding == "ucs2"
    assert (kept["Ana"].segments, kept["João"].segments) == (1, 2)
    assert estimate.as_dict()["encodings"] == {"gsm7": 1, "ucs2": 1}
    assert estimate.as_dict()["segments_per_recipient"] == {"min": 1, "max": 2}
    assert estimate.as_dict()["cost_per_recipient"] == {"min": "0.08", "max": "0.16", "average": "0.12"}


def test_telefone_and_known_fields_fill_variables() -> None:
    spec = MessageSpec(text="{{nome}} ({{telefone}})")
    screener = Screener("sms", spec, Decimal("0.1"))
    _, rows = read_csv("telefone\n48991910234\n")
    row = next(rows)
    address = screener.check(row)
    assert isinstance(address, str)
    done = screener.finish(row, address, known={"nome": "Ana Cadastro"})
    assert isinstance(done, Recipient) and done.text == "Ana Cadastro ((48) 99191-0234)"
    assert phone_display("+16502530000") == "+16502530000"


def test_whatsapp_template_parameters_come_from_the_row() -> None:
    definition = [{"type": "BODY", "text": "Olá {{1}}, sua fatura de {{2}} vence amanhã."},
                  {"type": "FOOTER", "text": "Banco X"}]
    spec = MessageSpec(template_components=definition, params=["{{nome}}", "{{valor}}"])
    assert spec.variables() == ["nome", "valor"]
    components, missing = spec.send_components({"nome": "Ana", "valor": "R$ 5"})
    assert missing == () and components == [{"type": "body", "parameters": [
        {"type": "text", "text": "Ana"}, {"type": "text", "text": "R$ 5"}]}]
    composed = spec.compose({"nome": "Ana", "valor": "R$ 5"})
    assert composed.text == "Olá Ana, sua fatura de R$ 5 vence amanhã.\nBanco X" and composed.segments == 0
    assert spec.compose({"nome": "Ana"}).missing == ("valor",)
    named = MessageSpec(template_components=definition, params={"first_name": "{{nome}}"})
    assert named.send_components({"nome": "Ana"})[0][0]["parameters"][0]["parameter_name"] == "first_name"


def test_agente_is_who_created_the_campaign() -> None:
    screener = Screener("sms", MessageSpec(text="Att, {{agente}}"), Decimal("0.1"), base={"agente": "Sara"})
    _, rows = read_csv("telefone\n48991910234\n")
    row = next(rows)
    address = screener.check(row)
    assert isinstance(address, str)
    done = screener.finish(row, address)
    assert isinstance(done, Recipient) and done.text == "Att, Sara"
