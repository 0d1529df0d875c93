"""The peer's side of `launch.benchmark models --peer`: segmentation_models_pytorch's DeepLabV3Plus doing the work
`benchmarks.models.measure` times for ours, run as a script in its own process (torch never shares a process
with JAX, and the library never imports torch):

  python specsense_jax/benchmarks/peer_torch.py '{"encoder": "resnet18", "size": 128, "batch": 16, ...}'

Training step: forward, class-weighted cross-entropy, backward, SGD with momentum 0.9 and L2 (weight decay)
1e-4. Inference: the eval work of ours, logits -> loss and argmax, under `torch.inference_mode`. Built with
`encoder_weights=None`: nothing downloads. Prints one JSON line: images/s (medians) and the versions.
"""

import json
import statistics
import sys
import time


def _median_seconds(fn, repeats: int, warmup: int = 1) -> float:
  for _ in range(warmup):
    fn()
  samples = []
  for _ in range(repeats):
    start = time.perf_counter()
    fn()
    samples.append(time.perf_counter() - start)
  return statistics.median(samples)


def measure(encoder: str, size: int, batch: int, repeats: int, class_weights, output_stride: int = 16) -> dict:
  """images/s of smp's DeepLabV3Plus train step and inference at size x size, batch `batch`, float32."""
  import segmentation_models_pytorch as smp  # pylint: disable=g-import-not-at-top
  import torch  # pylint: disable=g-import-not-at-top
  torch.manual_seed(0)
  model = smp.DeepLabV3Plus(encoder_name=encoder, encoder_weights=None, classes=len(class_weights),
                            encoder_output_stride=output_stride)
  generator = torch.Generator().manual_seed(0)
  x = torch.rand(batch, 3, size, size, generator=generator)
  y = torch.randint(0, len(class_weights), (batch, size, size), generator=generator)
  loss_fn = torch.nn.CrossEntropyLoss(weight=torch.tensor(class_weights, dtype=torch.float32))
  opt = torch.optim.SGD(model.parameters(), lr=0.01, momentum=0.9, weight_decay=1e-4)

  def train_step():
    opt.zero_grad(set_to_none=True)
    loss = loss_fn(model(x), y)
    loss.backward()
    opt.step()

  model.train()
  train_s = _median_seconds(train_step, repeats)
  model.eval()

  def eval_step():
    with torch.inference_mode():
      logits = model(x)
      loss_fn(logits, y), logits.argmax(1)  # pylint: disable=expression-not-assigned

  infer_s = _median_seconds(eval_step, repeats)
  return {'train_img_s': batch / train_s, 'infer_img_s': batch / infer_s, 'torch': torch.__version__,
          'smp': smp.__version__, 'threads': torch.get_num_threads()}


if __name__ == '__main__':
  args = json.loads(sys.argv[1])
  print(json.dumps(measure(**args)))
