-- The package browser's home page groups the index by package for each
-- package's last publish time. Covering that query keeps it off the table
-- rows, which carry the WIT text and are large.
CREATE INDEX package_versions_activity ON package_versions (namespace, name, deleted, created_at);
