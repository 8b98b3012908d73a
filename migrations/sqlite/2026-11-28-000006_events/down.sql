DROP TABLE admin_events;
DROP TABLE events;
