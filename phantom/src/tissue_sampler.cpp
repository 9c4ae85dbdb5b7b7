#include "tissue_sampler.h"

#include <cmath>
#include <stdexcept>

namespace livernode::phantom {

namespace {

// Candidate layers for the voxels of one row (slice k, row j) including their full extent.
class RowCandidates {
 public:
  RowCandidates(const Anatomy& anatomy, const processing::Geometry& g, const Vec3& shift)
      : anatomy_(anatomy), g_(g), shift_(shift) {}

  const Anatomy::Candidates& for_row(std::size_t k, std::size_t j) {
    if (k != slice_) {
      const double z = g_.origin[2] + g_.spacing[2] * static_cast<double>(k) - shift_[2];
      Box slab = Box::everything();
      slab.lo[2] = z - 0.5 * g_.spacing[2] - 1e-6;
      slab.hi[2] = z + 0.5 * g_.spacing[2] + 1e-6;
      slice_candidates_ = anatomy_.candidates(slab);
      slice_ = k;
      row_ = kNone;
    }
    if (j != row_) {
      const double y = g_.origin[1] + g_.spacing[1] * static_cast<double>(j) - shift_[1];
      Box band = Box::everything();
      band.lo[1] = y - 0.5 * g_.spacing[1] - 1e-6;
      band.hi[1] = y + 0.5 * g_.spacing[1] + 1e-6;
      row_candidates_ = anatomy_.narrow(slice_candidates_, band);
      row_ = j;
    }
    return row_candidates_;
  }

 private:
  static constexpr std::size_t kNone = static_cast<std::size_t>(-1);
  const Anatomy& anatomy_;
  const processing::Geometry& g_;
  Vec3 shift_;
  std::size_t slice_ = kNone, row_ = kNone;
  Anatomy::Candidates slice_candidates_, row_candidates_;
};

bool is_identity(const std::array<double, 9>& d) {
  const std::array<double, 9> id{1, 0, 0, 0, 1, 0, 0, 0, 1};
  for (int e = 0; e < 9; ++e) {
    if (std::abs(d[e] - id[e]) > 1e-9) return false;
  }
  return true;
}

}  // namespace

BoundaryClasses every_tissue_is_a_class() {
  BoundaryClasses c{};
  for (int i = 0; i < 256; ++i) c[i] = static_cast<std::uint8_t>(i);
  return c;
}

TissueSamples sample_tissues(const Anatomy& anatomy, const processing::Geometry& geometry,
                             const Vec3& shift, int subsamples, const BoundaryClasses& classes) {
  if (!is_identity(geometry.direction))
    throw std::logic_error("sample_tissues: grid must be axis-aligned");
  if (subsamples < 1 || subsamples > 6)
    throw std::logic_error("sample_tissues: subsamples out of range");
  const std::size_t nx = geometry.size[0], ny = geometry.size[1], nz = geometry.size[2];
  const Vec3& o = geometry.origin;
  const Vec3& sp = geometry.spacing;

  TissueSamples out;
  out.geometry = geometry;
  out.subsamples = subsamples;
  out.centre.resize(geometry.voxel_count());
  out.mix.assign(geometry.voxel_count(), TissueSamples::kPure);

  // Pass 1: tissue at every voxel centre.
  RowCandidates rows(anatomy, geometry, shift);
  for (std::size_t k = 0; k < nz; ++k) {
    const double z = o[2] + sp[2] * static_cast<double>(k) - shift[2];
    for (std::size_t j = 0; j < ny; ++j) {
      const Anatomy::Candidates& cand = rows.for_row(k, j);
      const double y = o[1] + sp[1] * static_cast<double>(j) - shift[1];
      TissueCode* row = &out.centre[(k * ny + j) * nx];
      for (std::size_t i = 0; i < nx; ++i) {
        row[i] = anatomy.classify({o[0] + sp[0] * static_cast<double>(i) - shift[0], y, z}, cand);
      }
    }
  }

  // Pass 2: sub-sample the voxels that have a 26-neighbour of another class.
  const int s = subsamples;
  std::vector<double> offsets(static_cast<std::size_t>(s));
  for (int a = 0; a < s; ++a) offsets[a] = (a + 0.5) / s - 0.5;  // fractions of a voxel
  std::vector<MixEntry> local;
  out.mix_start.push_back(0);
  for (std::size_t k = 0; k < nz; ++k) {
    const std::size_t k0 = k > 0 ? k - 1 : k, k1 = k + 1 < nz ? k + 1 : k;
    for (std::size_t j = 0; j < ny; ++j) {
      const std::size_t j0 = j > 0 ? j - 1 : j, j1 = j + 1 < ny ? j + 1 : j;
      for (std::size_t i = 0; i < nx; ++i) {
        const std::size_t i0 = i > 0 ? i - 1 : i, i1 = i + 1 < nx ? i + 1 : i;
        const std::size_t v = (k * ny + j) * nx + i;
        const std::uint8_t cls = classes[out.centre[v]];
        bool boundary = false;
        for (std::size_t kk = k0; kk <= k1 && !boundary; ++kk) {
          for (std::size_t jj = j0; jj <= j1 && !boundary; ++jj) {
            const TissueCode* row = &out.centre[(kk * ny + jj) * nx];
            for (std::size_t ii = i0; ii <= i1; ++ii) {
              if (classes[row[ii]] != cls) {
                boundary = true;
                break;
              }
            }
          }
        }
        if (!boundary) continue;

        const Anatomy::Candidates& cand = rows.for_row(k, j);
        const Vec3 c{o[0] + sp[0] * static_cast<double>(i) - shift[0],
                     o[1] + sp[1] * static_cast<double>(j) - shift[1],
                     o[2] + sp[2] * static_cast<double>(k) - shift[2]};
        local.clear();
        for (int c2 = 0; c2 < s; ++c2) {
          for (int c1 = 0; c1 < s; ++c1) {
            for (int c0 = 0; c0 < s; ++c0) {
              const TissueCode t =
                  anatomy.classify({c[0] + offsets[c0] * sp[0], c[1] + offsets[c1] * sp[1],
                                    c[2] + offsets[c2] * sp[2]},
                                   cand);
              bool found = false;
              for (MixEntry& e : local) {
                if (e.tissue == t) {
                  ++e.count;
                  found = true;
                  break;
                }
              }
              if (!found) local.push_back({t, 1});
            }
          }
        }
        if (local.size() == 1 && local[0].tissue == out.centre[v])
          continue;  // homogeneous after all
        out.mix[v] = static_cast<std::uint32_t>(out.mix_start.size() - 1);
        out.entries.insert(out.entries.end(), local.begin(), local.end());
        out.mix_start.push_back(static_cast<std::uint32_t>(out.entries.size()));
      }
    }
  }
  return out;
}

}  // namespace livernode::phantom
