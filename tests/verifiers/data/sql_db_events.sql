-- The "events" database of the labelled SQL set: epoch-second timestamps (INTEGER) a few seconds
-- apart, NULL scores and a NULL country, tied scores (kim and lou both best 10).
CREATE TABLE users(id INTEGER PRIMARY KEY, handle TEXT NOT NULL, country TEXT);
CREATE TABLE events(id INTEGER PRIMARY KEY, user_id INTEGER NOT NULL REFERENCES users(id),
                    kind TEXT NOT NULL, ts INTEGER NOT NULL, score INTEGER);
INSERT INTO users VALUES (1, 'kim', 'NO'), (2, 'lou', 'PE'), (3, 'max', NULL), (4, 'nia', 'NO'), (5, 'oz', 'IN');
INSERT INTO events VALUES
  (1, 1, 'login', 1700000000, NULL), (2, 1, 'play', 1700000005, 10), (3, 2, 'login', 1700000007, NULL),
  (4, 2, 'play', 1700003600, 10), (5, 3, 'play', 1700086400, 7), (6, 4, 'login', 1700000001, NULL),
  (7, 4, 'play', 1700000009, 12), (8, 1, 'play', 1700090000, 7), (9, 5, 'logout', 1700000003, NULL),
  (10, 2, 'play', 1700100000, NULL);
