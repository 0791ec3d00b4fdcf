"""What each database role can and cannot read or change (roles from sql/migrations/0060_roles.sql)."""
import pytest
import sqlalchemy as sa

from pipelines import db


def as_role(settings, role, sql):
    with db.engine(settings).connect() as c:
        with c.begin():
            c.execute(sa.text(f"set local role {role}"))
            return c.execute(sa.text(sql)).fetchall()


CAN = [
    ("kcbx_analyst", "select id_number_masked from report.case_ledger limit 1"),
    ("kcbx_analyst", "select * from report.region_term_indicators limit 1"),
    ("kcbx_auditor", "select * from audit.row_issues limit 1"),
    ("kcbx_auditor", "select * from report.case_events limit 1"),
    ("kcbx_caseworker", "select id_number, name from restricted.case_ledger limit 1"),
    ("kcbx_pipeline", "select * from core.hukou limit 1"),
    ("kcbx_pipeline", "select * from ledger.case_events limit 1"),
]
CANNOT = [
    ("kcbx_analyst", "select * from restricted.case_ledger limit 1"),
    ("kcbx_analyst", "select * from core.hukou limit 1"),
    ("kcbx_analyst", "select * from audit.row_issues limit 1"),
    ("kcbx_analyst", "select * from ledger.cases limit 1"),
    ("kcbx_auditor", "select * from restricted.case_ledger limit 1"),
    ("kcbx_auditor", "select * from match.findings limit 1"),
    ("kcbx_caseworker", "select * from core.registry limit 1"),
    ("kcbx_analyst", "delete from report.region_term_indicators"),
    ("kcbx_pipeline", "update ledger.case_events set to_status = 'closed'"),
    ("kcbx_pipeline", "delete from ledger.case_events"),
    ("kcbx_pipeline", "delete from ledger.cases"),
    ("kcbx_pipeline", "select set_config('kcbx.ledger_rebuild', 'on', true); delete from ledger.case_events"),
    ("kcbx_pipeline", "delete from ledger.superseded"),
    ("kcbx_analyst", "select ledger.rebuild_from('41', '2025-autumn', null)"),
]


@pytest.mark.parametrize("role,sql", CAN)
def test_role_can(swept_county, role, sql):
    settings, _ = swept_county
    assert as_role(settings, role, sql) is not None


@pytest.mark.parametrize("role,sql", CANNOT)
def test_role_cannot(swept_county, role, sql):
    settings, _ = swept_county
    with pytest.raises(sa.exc.ProgrammingError, match="permission denied"):
        as_role(settings, role, sql)


def test_ledger_history_cannot_be_rewritten_even_by_the_owner(swept_county):
    settings, _ = swept_county
    for sql in ("update ledger.case_events set to_status = 'closed' where seq = 1",
                "delete from ledger.case_events where seq = 1", "truncate ledger.case_events cascade"):
        with pytest.raises(sa.exc.InternalError, match="append-only"):
            with db.engine(settings).begin() as c:
                c.execute(sa.text(sql))


def test_illegal_transition_is_refused_with_a_clear_message(swept_county):
    settings, _ = swept_county
    with db.engine(settings).connect() as c:
        case_id = c.execute(sa.text("select case_id from ledger.case_state where status = 'closed' limit 1")).scalar()
    with pytest.raises(sa.exc.InternalError, match=f"case {case_id}: cannot go from closed to persuading"):
        with db.engine(settings).begin() as c:
            c.execute(sa.text("select ledger.append_event(:c, '2026-autumn', 'persuading', 'followup', null, '{}',"
                              " null, 'test-illegal')"), {"c": case_id})


def test_events_written_directly_are_checked_against_the_state_machine(swept_county):
    # not only ledger.append_event: every INSERT, of one row or many, is checked (sql/migrations/0180)
    settings, _ = swept_county
    eng = db.engine(settings)
    with eng.connect() as c:
        case_id, seq = c.execute(sa.text(
            "select case_id, seq from ledger.case_events e where to_status = 'suspected'"
            " and seq = (select max(seq) from ledger.case_events x where x.case_id = e.case_id) limit 1")).one()
    insert = ("insert into ledger.case_events (case_id, seq, term, from_status, to_status, source, evidence,"
              " event_key) values ")
    row = "({c}, {s}, '2026-autumn', {f}, '{t}', 'followup', '{{}}', 'test-direct-{s}')"
    refused = [
        (row.format(c=case_id, s=seq + 2, f="'suspected'", t="confirmed"),
         f"case {case_id}: event seq {seq + 2} is not the next one \\({seq + 1}\\)"),
        (row.format(c=case_id, s=seq + 1, f="'confirmed'", t="persuading"),
         f"case {case_id}: event from confirmed but the case is suspected"),
        (row.format(c=case_id, s=seq + 1, f="'suspected'", t="persuading"),
         f"case {case_id}: cannot go from suspected to persuading"),
        # the second row of a statement is checked against the first
        (row.format(c=case_id, s=seq + 1, f="'suspected'", t="confirmed") + ", "
         + row.format(c=case_id, s=seq + 2, f="'suspected'", t="returned"),
         f"case {case_id}: event from suspected but the case is confirmed"),
    ]
    for values, message in refused:
        with pytest.raises(sa.exc.InternalError, match=message):
            with eng.begin() as c:
                c.execute(sa.text(insert + values))
    with eng.connect() as c, c.begin() as txn:
        c.execute(sa.text(insert + row.format(c=case_id, s=seq + 1, f="'suspected'", t="confirmed") + ", "
                          + row.format(c=case_id, s=seq + 2, f="'confirmed'", t="persuading")))
        assert c.execute(sa.text("select status from ledger.case_state where case_id = :c"),
                         {"c": case_id}).scalar() == "persuading"
        txn.rollback()


def test_only_a_provinces_matching_work_table_can_become_its_person_term_partition(swept_county):
    # core.attach_work_table runs as the owner: given any other table, it must refuse before touching it
    settings, _ = swept_county
    with pytest.raises(sa.exc.InternalError, match="is not a work table of province 41"):
        as_role(settings, "kcbx_pipeline", "select core.attach_work_table('match.person_term', '41', '2025-autumn',"
                                           " 'core.hukou_2025_autumn_41')")
    assert as_role(settings, "kcbx_pipeline", "select count(*) from core.hukou where term = '2025-autumn'")[0][0] > 0
