-- List pages read a few thousand index entries at most; a parallel plan for them (chosen when a
-- common search term makes the planner expect a long walk) costs more in starting workers than it
-- saves, most of all on a busy 2-core server. Scans of leads and contacts stay in one process.
ALTER TABLE leads SET (parallel_workers = 0);
ALTER TABLE contacts SET (parallel_workers = 0);
