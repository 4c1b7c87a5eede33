-- A database made by jobqd 0.1.0 at b17e4e5 (schema 8), as sqlite3's .dump writes it:
-- job 1 succeeded, job 2 running (jobqd stopped under it), job 3 cancelled while
-- running, job 4 pending after job 2. Made against tests/bench's engine_sim.
PRAGMA foreign_keys=OFF;
BEGIN TRANSACTION;
CREATE TABLE meta(key TEXT PRIMARY KEY, value TEXT NOT NULL);
INSERT INTO meta VALUES('instance','7b0a3087');
CREATE TABLE apps(
  name TEXT PRIMARY KEY,
  image TEXT NOT NULL,
  max_running INTEGER NOT NULL,
  env TEXT NOT NULL,
  created_at TEXT NOT NULL,
  updated_at TEXT NOT NULL, paused INTEGER NOT NULL DEFAULT 0, timeout_ms INTEGER NOT NULL DEFAULT 0, retry TEXT NOT NULL DEFAULT '{}', resources TEXT NOT NULL DEFAULT '{}', webhooks TEXT NOT NULL DEFAULT '{}', pull TEXT NOT NULL DEFAULT 'missing');
INSERT INTO apps VALUES('web','engine-sim/anything:latest',0,'{}','2026-11-30T13:57:34.899281821Z','2026-11-30T13:57:34.899281821Z',0,0,'{"base_ms":1000,"limit":0,"max_ms":300000,"on":["exit","oom","lost","launch"]}','{"job_users":"","memory_bytes":0,"nano_cpus":0,"network":"","pids_limit":0,"read_only":false,"user":""}','{"on":["final-failure"],"urls":[]}','missing');
CREATE TABLE jobs(
  id INTEGER PRIMARY KEY AUTOINCREMENT,
  app TEXT NOT NULL,
  state TEXT NOT NULL,
  reason TEXT NOT NULL DEFAULT '',
  exit_code INTEGER,
  command TEXT,
  env TEXT NOT NULL,
  message TEXT,
  labels TEXT NOT NULL,
  cancel_requested INTEGER NOT NULL DEFAULT 0,
  attempts INTEGER NOT NULL DEFAULT 0,
  created_at TEXT NOT NULL,
  updated_at TEXT NOT NULL,
  submitter_uid INTEGER NOT NULL,
  submitter_name TEXT NOT NULL, priority INTEGER NOT NULL DEFAULT 0, not_before_ns INTEGER NOT NULL DEFAULT 0, held INTEGER NOT NULL DEFAULT 0, idem_key TEXT, cancel_requested_ns INTEGER NOT NULL DEFAULT 0, timeout_ms INTEGER NOT NULL DEFAULT 0, timed_out INTEGER NOT NULL DEFAULT 0, retry TEXT, resources TEXT NOT NULL DEFAULT '{}', retries_used INTEGER NOT NULL DEFAULT 0, waiting_on INTEGER NOT NULL DEFAULT 0, ended_ns INTEGER NOT NULL DEFAULT 0, due INTEGER NOT NULL DEFAULT 1, cancelled_by_uid INTEGER NOT NULL DEFAULT -1, cancelled_by_name TEXT NOT NULL DEFAULT '', cancelled_by_admin INTEGER NOT NULL DEFAULT 0);
INSERT INTO jobs VALUES(1,'web','succeeded','',0,'["run","a"]','{}',NULL,'{"team":"blue"}',0,1,'2026-11-30T13:57:34.916407056Z','2026-11-30T13:57:36.927762299Z',0,'root',0,0,0,NULL,0,0,0,NULL,'{"job_users":"","memory_bytes":0,"nano_cpus":0,"network":"","pids_limit":0,"read_only":false,"user":""}',0,0,1796047056928044796,1,-1,'',0);
INSERT INTO jobs VALUES(2,'web','running','',NULL,'["run","b"]','{}',NULL,'{}',0,1,'2026-11-30T13:57:36.942243931Z','2026-11-30T13:57:36.947473489Z',0,'root',0,0,0,NULL,0,0,0,NULL,'{"job_users":"","memory_bytes":0,"nano_cpus":0,"network":"","pids_limit":0,"read_only":false,"user":""}',0,0,0,1,-1,'',0);
INSERT INTO jobs VALUES(3,'web','cancelled','cancel requested while running',143,'["run","c"]','{}',NULL,'{}',1,1,'2026-11-30T13:57:36.957536064Z','2026-11-30T13:57:37.808588008Z',0,'root',0,0,0,NULL,1796047057804587815,0,0,NULL,'{"job_users":"","memory_bytes":0,"nano_cpus":0,"network":"","pids_limit":0,"read_only":false,"user":""}',0,0,1796047057808610159,1,0,'root',0);
INSERT INTO jobs VALUES(4,'web','pending','',NULL,'["run","e"]','{}',NULL,'{}',0,0,'2026-11-30T13:57:36.984258679Z','2026-11-30T13:57:36.984258679Z',0,'root',0,0,0,NULL,0,0,0,NULL,'{"job_users":"","memory_bytes":0,"nano_cpus":0,"network":"","pids_limit":0,"read_only":false,"user":""}',0,1,0,1,-1,'',0);
CREATE TABLE attempts(
  job_id INTEGER NOT NULL REFERENCES jobs(id),
  number INTEGER NOT NULL,
  state TEXT NOT NULL,
  container_name TEXT NOT NULL UNIQUE,
  container_id TEXT NOT NULL DEFAULT '',
  spec TEXT NOT NULL,
  exit_code INTEGER,
  oom_killed INTEGER NOT NULL DEFAULT 0,
  error TEXT NOT NULL DEFAULT '',
  started_at TEXT NOT NULL DEFAULT '',
  finished_at TEXT NOT NULL DEFAULT '',
  created_at TEXT NOT NULL, started_ns INTEGER NOT NULL DEFAULT 0, reason TEXT NOT NULL DEFAULT '',
  PRIMARY KEY(job_id, number));
INSERT INTO attempts VALUES(1,1,'succeeded','jobq-7b0a3087-1-1','0723a054372d91dce992fae485b3c22d8eaeb0bdf38e59f8bd1dd693eba4c166','{"cmd":["run","a"],"env":["JOBQ_APP=web","JOBQ_ATTEMPT=1","JOBQ_JOB_ID=1"],"image":"engine-sim/anything:latest","labels":{"jobq.app":"web","jobq.attempt":"1","jobq.instance":"7b0a3087","jobq.job":"1","team":"blue"},"name":"jobq-7b0a3087-1-1","resources":{"job_users":"","memory_bytes":0,"nano_cpus":0,"network":"","pids_limit":0,"read_only":false,"user":""}}',0,0,'','2026-11-30T13:57:34.925115907Z','2026-11-30T13:57:36.92562144Z','2026-11-30T13:57:34.918939609Z',1796047054925115907,'');
INSERT INTO attempts VALUES(2,1,'running','jobq-7b0a3087-2-1','34ce532c9a98e3aa604f6ed741b0829d757fb7ae6da1655ba546996b2f141680','{"cmd":["run","b"],"env":["JOBQ_APP=web","JOBQ_ATTEMPT=1","JOBQ_JOB_ID=2"],"image":"engine-sim/anything:latest","labels":{"jobq.app":"web","jobq.attempt":"1","jobq.instance":"7b0a3087","jobq.job":"2"},"name":"jobq-7b0a3087-2-1","resources":{"job_users":"","memory_bytes":0,"nano_cpus":0,"network":"","pids_limit":0,"read_only":false,"user":""}}',NULL,0,'','2026-11-30T13:57:36.947111421Z','','2026-11-30T13:57:36.944050114Z',1796047056947111421,'');
INSERT INTO attempts VALUES(3,1,'cancelled','jobq-7b0a3087-3-1','aa152798bde0a7086fa60148a822f7029bdacf2e23580d93fb3e14378870aa74','{"cmd":["run","c"],"env":["JOBQ_APP=web","JOBQ_ATTEMPT=1","JOBQ_JOB_ID=3"],"image":"engine-sim/anything:latest","labels":{"jobq.app":"web","jobq.attempt":"1","jobq.instance":"7b0a3087","jobq.job":"3"},"name":"jobq-7b0a3087-3-1","resources":{"job_users":"","memory_bytes":0,"nano_cpus":0,"network":"","pids_limit":0,"read_only":false,"user":""}}',143,0,'','2026-11-30T13:57:36.967879591Z','2026-11-30T13:57:37.807408856Z','2026-11-30T13:57:36.958902490Z',1796047056967879591,'cancel requested while running');
CREATE TABLE logs(
  job_id INTEGER NOT NULL,
  attempt INTEGER NOT NULL,
  stream INTEGER NOT NULL,
  data BLOB NOT NULL,
  truncated INTEGER NOT NULL,
  total_bytes INTEGER NOT NULL, timestamped INTEGER NOT NULL DEFAULT 0,
  PRIMARY KEY(job_id, attempt, stream));
INSERT INTO logs VALUES(1,1,1,X'323032362d31312d33305431333a35373a33342e3932353131353930375a20656e67696e655f73696d3a206a6f62712d37623061333038372d312d3120737461727465640a323032362d31312d33305431333a35373a33362e3932353632313434305a20656e67696e655f73696d3a206a6f62712d37623061333038372d312d31206578697473207769746820636f646520300a',0,86,1);
INSERT INTO logs VALUES(1,1,2,X'',0,0,1);
INSERT INTO logs VALUES(3,1,1,X'323032362d31312d33305431333a35373a33362e3936373837393539315a20656e67696e655f73696d3a206a6f62712d37623061333038372d332d3120737461727465640a323032362d31312d33305431333a35373a33372e3830373430383835365a20656e67696e655f73696d3a206a6f62712d37623061333038372d332d31206578697473207769746820636f6465203134330a',0,88,1);
INSERT INTO logs VALUES(3,1,2,X'',0,0,1);
CREATE TABLE job_deps(
  job_id INTEGER NOT NULL,
  dep_id INTEGER NOT NULL,
  any_end INTEGER NOT NULL, counted INTEGER NOT NULL DEFAULT 0,
  PRIMARY KEY(job_id, dep_id));
INSERT INTO job_deps VALUES(4,2,0,0);
CREATE TABLE deliveries(
  id INTEGER PRIMARY KEY AUTOINCREMENT,
  job_id INTEGER NOT NULL,
  event TEXT NOT NULL,
  url TEXT NOT NULL,
  body TEXT NOT NULL,
  tries INTEGER NOT NULL DEFAULT 0,
  next_ns INTEGER NOT NULL,
  state TEXT NOT NULL DEFAULT 'pending',
  last_error TEXT NOT NULL DEFAULT '',
  created_at TEXT NOT NULL, uuid TEXT NOT NULL DEFAULT '');
DELETE FROM sqlite_sequence;
INSERT INTO sqlite_sequence VALUES('jobs',4);
CREATE INDEX jobs_by_state ON jobs(state, id);
CREATE INDEX jobs_by_app_state ON jobs(app, state, id);
CREATE INDEX attempts_by_state ON attempts(state);
CREATE INDEX jobs_next ON jobs(app, state, priority DESC, id);
CREATE INDEX job_deps_by_dep ON job_deps(dep_id);
CREATE INDEX deliveries_due ON deliveries(state, next_ns);
CREATE INDEX jobs_ended ON jobs(ended_ns) WHERE ended_ns > 0;
CREATE INDEX jobs_claim ON jobs(app, priority DESC, id)
  WHERE state = 'pending' AND due = 1 AND held = 0 AND waiting_on = 0;
CREATE INDEX jobs_delayed ON jobs(not_before_ns) WHERE state = 'pending' AND due = 0;
CREATE UNIQUE INDEX jobs_by_key ON jobs(app, submitter_uid, idem_key) WHERE idem_key IS NOT NULL;
CREATE INDEX jobs_by_user ON jobs(submitter_name, id);
CREATE INDEX jobs_by_created ON jobs(created_at);
COMMIT;
PRAGMA user_version=8;
