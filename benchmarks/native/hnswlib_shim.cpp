// C ABI over hnswlib's header-only HierarchicalNSW<float> for the ANN harness (`ann --engine hnswlib`).
// Benchmark-only; built by build-hnswlib.sh against Debian's libhnswlib-dev (hnswlib 0.6.2).
// Every function returns 0 on success and a negative code on failure (exceptions never cross the ABI).
#include <hnswlib/hnswlib.h>

#include <algorithm>
#include <atomic>
#include <cstddef>
#include <cstdint>
#include <exception>
#include <memory>
#include <thread>
#include <vector>

namespace {

struct Shim {
    std::unique_ptr<hnswlib::SpaceInterface<float>> space;
    std::unique_ptr<hnswlib::HierarchicalNSW<float>> index;
    size_t dim = 0;
};

}  // namespace

extern "C" {

// space: 0 = l2 (squared L2), 1 = ip (1 - dot). Returns nullptr on failure.
void* hnsw_shim_create(int space, int32_t dim, int64_t max_elements, int32_t m, int32_t ef_construction, int64_t seed) {
    try {
        auto shim = std::make_unique<Shim>();
        shim->dim = static_cast<size_t>(dim);
        if (space == 0) {
            shim->space = std::make_unique<hnswlib::L2Space>(shim->dim);
        } else if (space == 1) {
            shim->space = std::make_unique<hnswlib::InnerProductSpace>(shim->dim);
        } else {
            return nullptr;
        }
        shim->index = std::make_unique<hnswlib::HierarchicalNSW<float>>(
            shim->space.get(), static_cast<size_t>(max_elements), static_cast<size_t>(m),
            static_cast<size_t>(ef_construction), static_cast<size_t>(seed));
        return shim.release();
    } catch (...) {
        return nullptr;
    }
}

// Adds rows [0, count) of `data` (row i at data + i * stride floats) under labels 0..count-1, from `threads`
// std::threads pulling rows from a shared counter (as hnswlib's python binding's ParallelFor does; addPoint is
// thread-safe for distinct labels). The first row is added alone first, as the binding does.
int hnsw_shim_add(void* handle, const float* data, int64_t count, int64_t stride, int32_t threads) {
    auto* shim = static_cast<Shim*>(handle);
    if (shim == nullptr || count < 0 || threads < 1) return -1;
    if (count == 0) return 0;
    std::atomic<int64_t> next(1);
    std::atomic<bool> failed(false);
    try {
        shim->index->addPoint(data, 0);
    } catch (...) {
        return -2;
    }
    auto work = [&]() {
        try {
            for (int64_t i; !failed.load(std::memory_order_relaxed) && (i = next.fetch_add(1)) < count;) {
                shim->index->addPoint(data + i * stride, static_cast<hnswlib::labeltype>(i));
            }
        } catch (...) {
            failed.store(true);
        }
    };
    if (threads == 1) {
        work();
    } else {
        std::vector<std::thread> pool;
        pool.reserve(static_cast<size_t>(threads));
        for (int t = 0; t < threads; t++) pool.emplace_back(work);
        for (auto& thread : pool) thread.join();
    }
    return failed.load() ? -2 : 0;
}

int hnsw_shim_set_ef(void* handle, int32_t ef) {
    auto* shim = static_cast<Shim*>(handle);
    if (shim == nullptr || ef < 1) return -1;
    shim->index->setEf(static_cast<size_t>(ef));
    return 0;
}

// Top-k labels (best first) and distances into the caller's buffers; returns how many, or < 0 on failure.
// hnswlib's searchKnn builds std::priority_queues (heap allocations) per call; that is its own cost.
int hnsw_shim_search(void* handle, const float* query, int32_t k, int64_t* labels, float* distances) {
    auto* shim = static_cast<Shim*>(handle);
    if (shim == nullptr || k < 0) return -1;
    try {
        auto result = shim->index->searchKnn(query, static_cast<size_t>(k));
        int n = static_cast<int>(result.size());
        for (int i = n - 1; i >= 0; i--) {
            labels[i] = static_cast<int64_t>(result.top().second);
            distances[i] = result.top().first;
            result.pop();
        }
        return n;
    } catch (...) {
        return -2;
    }
}

int64_t hnsw_shim_count(void* handle) {
    auto* shim = static_cast<Shim*>(handle);
    return shim == nullptr ? -1 : static_cast<int64_t>(shim->index->cur_element_count);
}

// Bytes of the index's vectors and link lists as hnswlib lays them out: the level-0 block of the elements added
// (size_data_per_element_ = level-0 links + vector + 8-byte label, per element) plus each element's upper-level
// link lists (level * size_links_per_element_) plus element_levels_ (one int per element). Allocation slack
// (max_elements beyond the count), the label hash map, locks and the visited-list pool are not counted.
int64_t hnsw_shim_index_bytes(void* handle) {
    auto* shim = static_cast<Shim*>(handle);
    if (shim == nullptr) return -1;
    const auto& index = *shim->index;
    size_t count = index.cur_element_count;
    size_t bytes = count * index.size_data_per_element_ + count * sizeof(int);
    for (size_t i = 0; i < count; i++) {
        bytes += static_cast<size_t>(index.element_levels_[i]) * index.size_links_per_element_;
    }
    return static_cast<int64_t>(bytes);
}

// Same fields separately: vector bytes per element (data_size_) and level-0 link bytes per element.
int64_t hnsw_shim_data_size(void* handle) {
    auto* shim = static_cast<Shim*>(handle);
    return shim == nullptr ? -1 : static_cast<int64_t>(shim->index->data_size_);
}

void hnsw_shim_free(void* handle) {
    delete static_cast<Shim*>(handle);
}

}  // extern "C"
