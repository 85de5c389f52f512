-- 0008_audit_append: the audit trail's rows are appended at the rate tokens
-- are issued, so every index on them must grow at its end. The indexes by
-- actor and by target took an insert into a random page of each per event
-- (a page read and a page written to the WAL per token under load, with many
-- clients); they are gone. A client's events are found by walking the time
-- index newest first (ListAudit), which a LIMIT stops early.

DROP INDEX audit_events_actor;
DROP INDEX audit_events_target;
