#pragma once
// The durable spool: spool/<study UID>/<series UID>/<SOP instance UID>.dcm. Paths are built
// only from UIDs that pass the DICOM UID grammar (digits and dots, at most 64 characters, no
// empty component), so a hostile UID such as "../../etc" can never name a file outside the
// spool. Writes are atomic (temp file, rename) and durable: fsync of file and directory, or,
// on the receiving path, a record in the ingest journal (see ingest_journal.h).
#include <cstdint>
#include <filesystem>
#include <functional>
#include <string>

namespace livernode::node {

// True for a syntactically valid DICOM UID: 1-64 characters of [0-9.], no empty component,
// no leading or trailing dot.
bool is_valid_uid(const std::string& uid);

// Free space (MiB) available to unprivileged users on the file system holding `path`;
// -1 when it cannot be determined.
std::int64_t free_disk_mb(const std::filesystem::path& path);

// The room on the file system holding `path`, from one statvfs: free space (MiB) and free inodes
// (files that can still be created) available to unprivileged users; each -1 when it cannot be
// determined (inodes also on a file system with no fixed number of them: it reports none).
struct DiskRoom {
  std::int64_t free_mb = -1;
  std::int64_t free_inodes = -1;
};
DiskRoom disk_room(const std::filesystem::path& path);

// fsync of a file or directory; false (errno set) on failure.
bool fsync_path(const std::filesystem::path& path);

// Creates or truncates `path` and writes `bytes` into it; false with `error` set on failure.
bool write_file(const std::filesystem::path& path, const std::string& bytes, std::string& error);

class Spool {
 public:
  explicit Spool(std::filesystem::path root) : root_(std::move(root)) {}

  const std::filesystem::path& root() const { return root_; }
  // The study folder; the UIDs must be valid (throws NodeError of kind kInput otherwise).
  std::filesystem::path study_dir(const std::string& study_uid) const;
  std::filesystem::path instance_path(const std::string& study_uid, const std::string& series_uid,
                                      const std::string& sop_uid) const;

  // Writes one instance durably. `write_temp` writes the complete file to the path it is
  // given (a temp name in the final folder) and returns false with `error` set on failure.
  // Returns the final path; throws std::runtime_error with the reason on any failure (the
  // temp file is removed then).
  // Deletes temp files a crash left behind (never acknowledged); returns how many.
  std::size_t remove_stale_temp_files() const;

  std::filesystem::path store(
      const std::string& study_uid, const std::string& series_uid, const std::string& sop_uid,
      const std::function<bool(const std::filesystem::path&, std::string& error)>& write_temp)
      const;

  // Writes `bytes` as the instance's file, atomically but without any fsync: the file is
  // under its final name when this returns, not yet on stable storage (the ingest journal
  // holds the durable copy). Throws std::runtime_error with the reason on failure.
  std::filesystem::path store_unsynced(const std::string& study_uid, const std::string& series_uid,
                                       const std::string& sop_uid, const std::string& bytes) const;

 private:
  std::filesystem::path place(
      const std::string& study_uid, const std::string& series_uid, const std::string& sop_uid,
      const std::function<bool(const std::filesystem::path&, std::string& error)>& write_temp,
      bool sync) const;
  // Creates `dir` and any missing parents below root_, fsyncing each parent whose entries
  // changed.
  void make_durable_dirs(const std::filesystem::path& dir) const;
  std::filesystem::path root_;
};

}  // namespace livernode::node
