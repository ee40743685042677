-- The "ledger" database of the labelled SQL set: NULL branches and memos, duplicate transfers,
-- large REALs that differ in the cents (12,345,678.90 vs .87), an integral REAL past 2**30, a tie.
CREATE TABLE accounts(id INTEGER PRIMARY KEY, owner TEXT NOT NULL, branch TEXT, opened INTEGER NOT NULL);
CREATE TABLE transfers(id INTEGER PRIMARY KEY, account_id INTEGER NOT NULL REFERENCES accounts(id),
                       amount REAL NOT NULL, memo TEXT);
INSERT INTO accounts VALUES
  (1, 'ada', 'north', 2015), (2, 'bo', 'south', 2018), (3, 'cy', NULL, 2018),
  (4, 'di', 'north', 2020), (5, 'ed', 'east', 2015), (6, 'fe', NULL, 2021);
INSERT INTO transfers VALUES
  (1, 1, 100.0, 'rent'), (2, 1, 100.0, 'rent'), (3, 2, 250.5, NULL), (4, 3, 12345678.90, 'bond'),
  (5, 4, 12345678.87, 'bond'), (6, 4, 40.0, NULL), (7, 5, 250.5, 'gift'), (8, 2, 0.1, 'fee'),
  (9, 2, 0.2, 'fee'), (10, 5, 1512345678.0, 'sale'), (11, 1, -30.0, 'refund');
