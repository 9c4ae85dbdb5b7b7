#include "livernode/node/ingest/spool.h"

#include <fcntl.h>
#include <sys/statvfs.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <chrono>
#include <cstring>
#include <stdexcept>
#include <thread>

#include "livernode/node/error.h"

namespace livernode::node {

namespace fs = std::filesystem;

bool is_valid_uid(const std::string& uid) {
  if (uid.empty() || uid.size() > 64) return false;
  if (uid.front() == '.' || uid.back() == '.') return false;
  char previous = 0;
  for (char c : uid) {
    if (c == '.') {
      if (previous == '.') return false;
    } else if (c < '0' || c > '9') {
      return false;
    }
    previous = c;
  }
  return true;
}

DiskRoom disk_room(const fs::path& path) {
  DiskRoom room;
  struct statvfs st {};
  if (statvfs(path.c_str(), &st) != 0) return room;
  room.free_mb = static_cast<std::int64_t>(st.f_bavail) * static_cast<std::int64_t>(st.f_frsize) /
                 (1024 * 1024);
  if (st.f_files != 0) room.free_inodes = static_cast<std::int64_t>(st.f_favail);
  return room;
}

std::int64_t free_disk_mb(const fs::path& path) { return disk_room(path).free_mb; }

bool fsync_path(const fs::path& path) {
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return false;
  const int rc = ::fsync(fd);
  const int saved = errno;
  ::close(fd);
  errno = saved;
  return rc == 0;
}

bool write_file(const fs::path& path, const std::string& bytes, std::string& error) {
  const int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0640);
  if (fd < 0) {
    error = std::strerror(errno);
    return false;
  }
  const char* p = bytes.data();
  std::size_t left = bytes.size();
  while (left > 0) {
    const ssize_t n = ::write(fd, p, left);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) {
      error = n < 0 ? std::strerror(errno) : "short write";
      ::close(fd);
      return false;
    }
    p += n;
    left -= static_cast<std::size_t>(n);
  }
  if (::close(fd) != 0) {
    error = std::strerror(errno);
    return false;
  }
  return true;
}

fs::path Spool::study_dir(const std::string& study_uid) const {
  if (!is_valid_uid(study_uid))
    throw NodeError(NodeErrorKind::kInput, "invalid Study Instance UID '" + study_uid + "'");
  return root_ / study_uid;
}

fs::path Spool::instance_path(const std::string& study_uid, const std::string& series_uid,
                              const std::string& sop_uid) const {
  if (!is_valid_uid(series_uid))
    throw NodeError(NodeErrorKind::kInput, "invalid Series Instance UID '" + series_uid + "'");
  if (!is_valid_uid(sop_uid))
    throw NodeError(NodeErrorKind::kInput, "invalid SOP Instance UID '" + sop_uid + "'");
  return study_dir(study_uid) / series_uid / (sop_uid + ".dcm");
}

void Spool::make_durable_dirs(const fs::path& dir) const {
  if (fs::is_directory(dir)) return;
  make_durable_dirs(dir.parent_path());
  std::error_code ec;
  const bool created = fs::create_directory(dir, ec);
  if (ec && !fs::is_directory(dir))
    throw NodeError(NodeErrorKind::kStorage,
                    "cannot create spool folder " + dir.string() + ": " + ec.message());
  if (created && !fsync_path(dir.parent_path()))
    throw NodeError(
        NodeErrorKind::kStorage,
        "cannot fsync spool folder " + dir.parent_path().string() + ": " + std::strerror(errno));
}

std::size_t Spool::remove_stale_temp_files() const {
  std::size_t removed = 0;
  std::error_code ec;
  if (!fs::is_directory(root_, ec)) return 0;
  for (auto it = fs::recursive_directory_iterator(root_, ec);
       !ec && it != fs::recursive_directory_iterator(); it.increment(ec)) {
    if (it->is_regular_file(ec) && it->path().filename().string().rfind(".tmp-", 0) == 0) {
      // On a spool shared by several nodes, another node may be writing this file right now:
      // only a temp file untouched for an hour is left over from a crash.
      std::error_code age;
      const auto written = fs::last_write_time(it->path(), age);
      if (age || fs::file_time_type::clock::now() - written < std::chrono::hours(1)) continue;
      std::error_code rm;
      if (fs::remove(it->path(), rm)) ++removed;
    }
  }
  return removed;
}

fs::path Spool::store(const std::string& study_uid, const std::string& series_uid,
                      const std::string& sop_uid,
                      const std::function<bool(const fs::path&, std::string&)>& write_temp) const {
  return place(study_uid, series_uid, sop_uid, write_temp, true);
}

fs::path Spool::store_unsynced(const std::string& study_uid, const std::string& series_uid,
                               const std::string& sop_uid, const std::string& bytes) const {
  return place(
      study_uid, series_uid, sop_uid,
      [&](const fs::path& temp, std::string& error) { return write_file(temp, bytes, error); },
      false);
}

fs::path Spool::place(const std::string& study_uid, const std::string& series_uid,
                      const std::string& sop_uid,
                      const std::function<bool(const fs::path&, std::string&)>& write_temp,
                      bool sync) const {
  const fs::path final_path = instance_path(study_uid, series_uid, sop_uid);
  const fs::path dir = final_path.parent_path();
  make_durable_dirs(dir);
  static std::atomic<unsigned long> counter{0};
  const fs::path temp = dir / (".tmp-" + sop_uid + "-" + std::to_string(::getpid()) + "-" +
                               std::to_string(counter.fetch_add(1)));
  std::string error;
  auto fail = [&](const std::string& what) -> fs::path {
    std::error_code ec;
    fs::remove(temp, ec);
    throw NodeError(NodeErrorKind::kStorage, what);
  };
  if (!write_temp(temp, error)) return fail("cannot write " + temp.string() + ": " + error);
  if (sync && !fsync_path(temp))
    return fail("cannot fsync " + temp.string() + ": " + std::strerror(errno));
  if (::rename(temp.c_str(), final_path.c_str()) != 0)
    return fail("cannot rename " + temp.string() + ": " + std::strerror(errno));
  if (sync && !fsync_path(dir))
    throw NodeError(NodeErrorKind::kStorage,
                    "cannot fsync " + dir.string() + ": " + std::strerror(errno));
  return final_path;
}

}  // namespace livernode::node
