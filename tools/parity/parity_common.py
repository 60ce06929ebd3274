"""What the parity scripts share: a diffusers source tree on sys.path, fp32 without TF32, our class path."""
import os
import sys


def use_diffusers(diffusers_src):
    """Puts a diffusers checkout (its src/, or the folder holding diffusers/) first on sys.path; no install needed."""
    src = os.path.join(diffusers_src, "src")
    sys.path.insert(0, src if os.path.isdir(src) else diffusers_src)


def exact_fp32(torch):
    """Reference computations in full fp32: no TF32 in matmuls or cuDNN convolutions (our dumpers switch it off too)."""
    torch.backends.cuda.matmul.allow_tf32 = False
    torch.backends.cudnn.allow_tf32 = False


def class_path(given):
    """--cp, else $LORA_CP, else this repository's built jar, libraries and test classes (where the dumpers live)."""
    repo = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    return given or os.environ.get("LORA_CP") or f"{repo}/target/lora-scripts.jar:{repo}/target/lib/*:{repo}/target/test-classes"
