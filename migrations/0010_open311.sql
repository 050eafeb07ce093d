-- Open311 GeoReport v2 fields that have no place yet (issue 5): the client's media_url (a
-- link to a photo it hosts; gridmap never fetches it), and the client's device and account
-- ids, which identify the reporter and so are private like the contact columns.
-- depends: 0007_issues 0008_gazetteer
ALTER TABLE issue
    ADD COLUMN media_url text,
    ADD COLUMN reporter_device_id text,
    ADD COLUMN reporter_account_id text;
