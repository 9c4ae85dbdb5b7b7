#pragma once
// Transparent huge pages for the analysis' large image buffers.
//
// An analysis allocates and frees image buffers of tens to hundreds of MB many times (each
// filter's output, each distance map). glibc serves them with fresh mappings, so every one is
// faulted in 4 KiB page by page: on a 512 x 512 x 200 study that was about a third of the
// analysis time. glibc backs its mappings with transparent huge pages (2 MiB) when its tunable
// glibc.malloc.hugetlb is 1; tunables are read only when a process starts.
namespace livernode::node {

// When the environment does not already choose (GLIBC_TUNABLES names glibc.malloc.hugetlb, or
// LIVERNODE_HUGE_PAGES=0), adds glibc.malloc.hugetlb=1 to GLIBC_TUNABLES and executes the same
// program again with the same arguments (same process id). Returns only when it did not
// re-execute: the setting was already made, was declined, or the re-execution failed (the
// program then runs as before, with ordinary pages). Call first thing in main, before threads.
void use_huge_pages_for_image_buffers(char** argv);

}  // namespace livernode::node
