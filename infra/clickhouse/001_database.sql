-- The audit journal's database. Applied in file-name order by `fillstream audit migrate`;
-- every statement is idempotent and runs on ClickHouse 18.16 and current releases alike.
CREATE DATABASE IF NOT EXISTS fillstream;
