#include "livernode/node/store/postgres_state_store.h"

#include <spdlog/spdlog.h>

#include <iterator>
#include <map>
#include <string>
#include <vector>

#include "postgres_connection.h"
#include "store_rows.h"

namespace livernode::node {

extern const unsigned char kPgSchema000[], kPgSchema001[], kPgSchema002[], kPgSchema003[],
    kPgSchema999[];
extern const std::size_t kPgSchema000Size, kPgSchema001Size, kPgSchema002Size, kPgSchema003Size,
    kPgSchema999Size;

namespace {

// The schema in PostgreSQL's dialect, from node/src/store/schema/postgresql built into the
// program: 000 creates the tables (and schema_version), each numbered step NNN brings a
// database from schema version NNN-1 to NNN, 999 the indexes on added columns. The steps are
// those of the SQLite store, so that both backends are at the same version.
struct SchemaFile {
  const unsigned char* bytes;
  std::size_t size;
  std::string text() const { return std::string(reinterpret_cast<const char*>(bytes), size); }
};

const SchemaFile kSchemaTables{kPgSchema000, kPgSchema000Size};
const SchemaFile kSchemaSteps[] = {
    {kPgSchema001, kPgSchema001Size},
    {kPgSchema002, kPgSchema002Size},
    {kPgSchema003, kPgSchema003Size},
};
const SchemaFile kSchemaIndexes{kPgSchema999, kPgSchema999Size};
constexpr int kSchemaVersion = static_cast<int>(std::size(kSchemaSteps));

}  // namespace

PostgresStateStore::PostgresStateStore(const std::string& conninfo, const std::string& password)
    : db_(std::make_unique<pg::Connection>(conninfo, password)) {
  migrate();
}

PostgresStateStore::~PostgresStateStore() = default;

// In one transaction under a transaction-level advisory lock: a second node starting at the
// same time waits here until the first has committed, then finds the schema current.
void PostgresStateStore::migrate() {
  std::lock_guard lock(mutex_);
  pg::Transaction tx(*db_);
  db_->exec("SELECT pg_advisory_xact_lock(hashtext('livernode.schema'))");
  const bool fresh = db_->exec("SELECT to_regclass('studies') IS NULL").text(0, 0) == "t";
  db_->exec_script(kSchemaTables.text());
  int version = 0;
  {
    const auto r = db_->exec("SELECT version FROM schema_version");
    if (r.rows() == 0)
      db_->exec("INSERT INTO schema_version(version) VALUES(0)");
    else
      version = static_cast<int>(r.integer(0, 0));
  }
  if (version > kSchemaVersion)
    throw StateStoreError("state database (PostgreSQL " + db_->description() +
                          ") has schema version " + std::to_string(version) +
                          ", newer than this livernode's (" + std::to_string(kSchemaVersion) +
                          "): it was written by a later release; run that release or restore a "
                          "backup made by this one");
  for (int to = version + 1; to <= kSchemaVersion; ++to) {
    db_->exec_script(kSchemaSteps[to - 1].text());
    db_->exec("UPDATE schema_version SET version=$1", pg::params(to));
    if (!fresh)
      spdlog::info("event=state_schema_migrated backend=postgresql server=\"{}\" version={}",
                   db_->description(), to);
  }
  db_->exec_script(kSchemaIndexes.text());
  tx.commit();
}

PostgresStateStore::Probe PostgresStateStore::probe(const std::string& conninfo,
                                                    const std::string& password) {
  pg::Connection db(conninfo, password);
  Probe p;
  p.server = db.description();
  p.server_version = db.exec("SHOW server_version").text(0, 0);
  if (db.exec("SELECT to_regclass('schema_version') IS NOT NULL").text(0, 0) == "t") {
    const auto r = db.exec("SELECT version FROM schema_version");
    if (r.rows()) p.schema_version = static_cast<int>(r.integer(0, 0));
  }
  return p;
}

int PostgresStateStore::current_schema_version() { return kSchemaVersion; }

int PostgresStateStore::schema_version() {
  std::lock_guard lock(mutex_);
  const auto r = db_->exec("SELECT version FROM schema_version");
  return r.rows() ? static_cast<int>(r.integer(0, 0)) : 0;
}

std::string PostgresStateStore::server_version() {
  std::lock_guard lock(mutex_);
  return db_->exec("SHOW server_version").text(0, 0);
}

StoreCounts PostgresStateStore::counts() {
  std::lock_guard lock(mutex_);
  StoreCounts c;
  for (const auto& [sql, target] :
       {std::pair<const char*, std::map<std::string, std::int64_t>*>{
            "SELECT state, COUNT(*) FROM jobs GROUP BY state", &c.jobs_by_state},
        {"SELECT state, COUNT(*) FROM outbox GROUP BY state", &c.outbox_by_state},
        {"SELECT state, COUNT(*) FROM studies GROUP BY state", &c.studies_by_state}}) {
    const auto r = db_->exec(sql);
    for (int i = 0; i < r.rows(); ++i) (*target)[r.text(i, 0)] = r.integer(i, 1);
  }
  const auto d =
      db_->exec("SELECT destination, state, COUNT(*) FROM outbox GROUP BY destination, state");
  for (int i = 0; i < d.rows(); ++i)
    c.outbox_by_destination[d.text(i, 0)][d.text(i, 1)] = d.integer(i, 2);
  c.instances = db_->exec("SELECT COUNT(*) FROM instances").integer(0, 0);
  return c;
}

void PostgresStateStore::heartbeat(const NodeRow& node, double now, double lease_s) {
  std::lock_guard lock(mutex_);
  pg::Transaction tx(*db_);
  db_->exec(
      "INSERT INTO nodes(name, started_at, last_heartbeat, version, ae_title, dicom_port) "
      "VALUES($1,$2,$3,$4,$5,$6) ON CONFLICT(name) DO UPDATE SET started_at=$2, "
      "last_heartbeat=$3, version=$4, ae_title=$5, dicom_port=$6",
      pg::params(node.name, node.started_at, now, node.version, node.ae_title, node.dicom_port));
  db_->exec("UPDATE jobs SET lease_expires_at=$1 WHERE state='running' AND lease_owner=$2",
            pg::params(now + lease_s, node.name));
  db_->exec("UPDATE outbox SET claim_expires_at=$1 WHERE state='pending' AND claimed_by=$2",
            pg::params(now + lease_s, node.name));
  tx.commit();
}

std::vector<NodeRow> PostgresStateStore::nodes() {
  std::lock_guard lock(mutex_);
  const auto r = db_->exec(std::string(rows::kNodeColumns) + "ORDER BY name");
  std::vector<NodeRow> out;
  for (int i = 0; i < r.rows(); ++i) out.push_back(rows::node_row(pg::Row(r, i)));
  return out;
}

}  // namespace livernode::node
