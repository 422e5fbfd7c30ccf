"""Runs every ClickHouse migration and counter query of this folder through
a current ClickHouse engine (chdb, in process), with the same substitutions
the store makes, and checks that duplicated rows do not count twice.

    python check_current.py services/shared/store/sql/clickhouse
"""
import pathlib
import re
import sys
import tempfile

from chdb import session

sql_dir = pathlib.Path(sys.argv[1])
db = "chdb_check"
conn = session.Session(tempfile.mkdtemp())


def run(sql):
    return str(conn.query(sql, "TSV")).strip()


def statements(text):
    text = "\n".join(line.split("--")[0] for line in text.splitlines())
    return [s.strip().replace("{db}", db) for s in text.split(";") if s.strip()]


print("engine", run("SELECT version()"))
migrations = sorted(sql_dir.glob("[0-9][0-9][0-9][0-9]_*.sql"))
assert migrations, "no migrations found"
for migration in migrations:
    for statement in statements(migration.read_text()):
        run(statement)
    print("migration", migration.name, "ok")

rows = {
    "enrolment_facts": "('e1','3.4','L1','c','84','2025-01-10 09:00:00',1,'2025-10-01 00:00:00',0,0,1,0,0,0,1,1),"
    "('e2','3.4','L1','c','84','2025-02-01 09:00:00',2,'2025-10-01 00:00:00',0,0,1,0,0,0,1,1)",
    "assessment_facts": "('a1','L1','3.4','84','2025-02-02 09:00:00',1,2,1),('a2','L1','3.4','84','2025-09-30 09:00:00',1,5,3)",
    "demand_facts": "('d1','3.4','84','2025-03-01 00:00:00',20,5)",
    "applied_events": ",".join(f"('{e}','k','p1','84','2025-01-10 09:00:00','2025-01-10 09:00:00','raw',0,{n})"
                               for n, e in enumerate(["e1", "e2", "a1", "a2", "d1"])),
}
for _ in range(2):  # twice: unmerged duplicates
    for table, values in rows.items():
        run(f"INSERT INTO {db}.{table} VALUES {values}")

expected = {
    "flows": "84\t3.4\t1\t0\t0\t0\t0\t1\t0\t0\t0\t1\t0\t0\t0\t0\t0",
    "base": "84\t3.4\t1\t1\t1",
    "gains": "84\t3.4\t3\t1",
    "demand": "84\t3.4\t20\t5",
}
# Whole cells (part ''), and each partner's part (as counters.rs renders them).
partner_join = ("INNER JOIN (SELECT event_id, any(partner_id) AS event_partner FROM {db}.applied_events "
                "WHERE occurred_at < toDateTime({end}) GROUP BY event_id) AS source USING (event_id)")
modes = [("", "''", "1"), ("p1", "event_partner", "event_partner = 'p1'")]
for query in sorted((sql_dir / "queries").glob("*.sql")):
    template = query.read_text()
    for part, column, partner_filter in modes:
        for by_skill, region, skill in [("skill", "1", "1"), ("'*'", "region = '84'", "skill = '3.4'")]:
            text = template.replace("{partner_join}", partner_join if part else "")
            text = text.replace("{part}", column).replace("{partner_filter}", partner_filter)
            kept = "learner NOT IN (SELECT learner FROM {db}.erased_learners)"
            for key, value in {"{learner_kept}": kept, "{db}": db, "{skill}": by_skill, "{start}": "1735689600", "{end}": "1767225600", "{year_end}": "1767225600",
                               "{horizon}": "1782864000", "{region_filter}": region, "{skill_filter}": skill}.items():
                text = text.replace(key, value)
            result = run(text)
            if by_skill == "skill" and query.stem in expected:
                want = (part + "\t" + expected[query.stem]).strip()
                assert result == want, f"{query.stem} ({part or 'whole'}): {result!r} != {want!r}"
    print("query", query.name, "ok")

# The read model: the newest version of a cell is read, whatever is unmerged.
def model_row(version, learners):
    sums = ",".join([str(learners)] + ["1"] * 21)
    return f"('2025','84','3.4',{version},{sums},[24300,24301],[{learners},2])"


for version, learners in [(1, 5), (3, 9), (2, 7), (3, 9)]:
    run(f"INSERT INTO {db}.model_cells VALUES {model_row(version, learners)}")
cells = (sql_dir / "model" / "cells.sql").read_text()
for key, value in {"{db}": db, "{period}": "'2025'", "{skill_test}": "skill != '*'",
                   "{region_filter}": "region = '84'", "{skill_filter}": "1"}.items():
    cells = cells.replace(key, value)
result = run(cells).split("\t")
assert result[:5] == ["2025", "84", "3.4", "3", "9"], result
assert result[-2:] == ["[24300,24301]", "[9,2]"], result
print("query model/cells.sql ok")
print("all statements ran")
