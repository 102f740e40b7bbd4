-- List sorts need (value, id) in index order: with only (score DESC), a score-sorted page read
-- and sorted every lead sharing the boundary score (about 1% of all leads each time). The
-- equality filters ride along as trailing keys, so a filtered score-sorted page skips
-- non-matching leads inside the index instead of fetching each one.
DROP INDEX leads_score;
CREATE INDEX leads_score ON leads (score DESC, id DESC, stage, source, owner);
-- Contact sorts by name and by last update.
CREATE INDEX contacts_name_sort ON contacts (lower(coalesce(name, '')), id);
CREATE INDEX contacts_updated ON contacts (updated_at DESC, id DESC);
