-- Embedded store, version 10: each partner's part of a cell found by the
-- cell. A mirrored model copies every part of each changed cell (see
-- docs/READ_MODEL.md); the primary keys lead with the partner after the
-- period, so without these a changed cell scanned its whole period.

CREATE INDEX IF NOT EXISTS partner_tallies_by_cell ON partner_tallies (period, region, skill);
CREATE INDEX IF NOT EXISTS partner_finishing_by_cell ON partner_finishing (period, region, skill);
