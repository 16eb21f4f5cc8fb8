// Two stages on two cores: a producer thread fills batches, the caller's thread
// consumes them in order. Batches circulate between a free list and a ready queue (at
// most `in_flight` exist), so memory stays bounded and batch objects are reused.
#ifndef TORI_SERVICES_INGEST_BATCH_PIPE_H_
#define TORI_SERVICES_INGEST_BATCH_PIPE_H_

#include <atomic>
#include <condition_variable>
#include <deque>
#include <functional>
#include <memory>
#include <mutex>
#include <thread>

namespace tori::ingest_internal {

template <typename Batch>
class BatchPipe {
 public:
  // `fill` fills one batch on the producer thread and returns whether more follow; it
  // may stop early when `stop` becomes true (the consumer is gone).
  using Fill = std::function<bool(Batch& batch, const std::atomic<bool>& stop)>;

  BatchPipe(int in_flight, Fill fill) : fill_(std::move(fill)) {
    for (int i = 0; i < in_flight; ++i) free_.push_back(std::make_unique<Batch>());
    thread_ = std::thread([this] { Run(); });
  }
  ~BatchPipe() {
    {
      std::lock_guard lock(mu_);
      stop_ = true;
    }
    cv_.notify_all();
    thread_.join();
  }
  BatchPipe(const BatchPipe&) = delete;
  BatchPipe& operator=(const BatchPipe&) = delete;

  // The next batch in order; `last` is set on the final one (call no more after it).
  std::unique_ptr<Batch> TakeReady(bool& last) {
    std::unique_lock lock(mu_);
    cv_.wait(lock, [this] { return !ready_.empty(); });
    auto batch = std::move(ready_.front().batch);
    last = ready_.front().last;
    ready_.pop_front();
    return batch;
  }
  void GiveBack(std::unique_ptr<Batch> batch) {
    {
      std::lock_guard lock(mu_);
      free_.push_back(std::move(batch));
    }
    cv_.notify_all();
  }

 private:
  void Run() {
    bool more = true;
    while (more) {
      std::unique_ptr<Batch> batch;
      {
        std::unique_lock lock(mu_);
        cv_.wait(lock, [this] { return stop_ || !free_.empty(); });
        if (stop_) return;
        batch = std::move(free_.front());
        free_.pop_front();
      }
      more = fill_(*batch, stop_);
      {
        std::lock_guard lock(mu_);
        ready_.push_back({std::move(batch), !more});
      }
      cv_.notify_all();
    }
  }

  struct Ready {
    std::unique_ptr<Batch> batch;
    bool last;
  };
  Fill fill_;
  std::mutex mu_;
  std::condition_variable cv_;
  std::deque<std::unique_ptr<Batch>> free_;
  std::deque<Ready> ready_;
  std::atomic<bool> stop_ = false;
  std::thread thread_;
};

}  // namespace tori::ingest_internal

#endif  // TORI_SERVICES_INGEST_BATCH_PIPE_H_
