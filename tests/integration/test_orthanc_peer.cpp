// The Orthanc the integration tests use as the PACS: it starts, answers C-ECHO and files what
// storescu sends under the patient and study of the instance.
#include <gtest/gtest.h>

#include "orthanc_peer.h"
#include "test_support.h"

namespace livernode::test {

TEST(OrthancPeer, StartsAnswersEchoAndStores) {
  const auto dir = make_temp_dir("livernode-orthanc");
  const auto ct = std::filesystem::path(LIVERNODE_PYDICOM_FILES) / "CT_small.dcm";
  LIVERNODE_REQUIRE_DATA(ct);
  {
    auto pacs = OrthancPeer::start(dir / "orthanc");
    const std::string peer =
        "-aec " + pacs->ae_title() + " 127.0.0.1 " + std::to_string(pacs->dicom_port());
    EXPECT_EQ(run_command("echoscu -aet LIVERNODE " + peer).status, 0);
    const auto store = run_command("storescu -aet LIVERNODE " + peer + " " + ct.string());
    ASSERT_EQ(store.status, 0) << store.output;
    const auto ids = pacs->instances();
    ASSERT_EQ(ids.size(), 1u);
    EXPECT_EQ(pacs->tags(ids[0])["Modality"], "CT");
  }
  std::filesystem::remove_all(dir);
}

}  // namespace livernode::test
