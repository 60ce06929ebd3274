package org.lorascripts.tensor;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.List;
import org.junit.jupiter.api.Test;
import org.lorascripts.ffi.TorchException;

/** Op results against hand-computed values. */
class TensorOpsTest {
    private static final double EPS = 1e-6;

    @Test
    void creationAndMetadata() {
        try (Scope s = Scope.open()) {
            Tensor z = Torch.zeros(new long[] {2, 3}, DType.F32, Device.CPU);
            assertArrayEquals(new long[] {2, 3}, z.shape());
            assertEquals(DType.F32, z.dtype());
            assertEquals(Device.CPU, z.device());
            assertEquals(6, z.numel());
            assertArrayEquals(new float[] {1, 1, 1}, Torch.ones(3).toFloatArray());
            assertArrayEquals(new double[] {2.5, 2.5}, Torch.full(new long[] {2}, 2.5, DType.F64, Device.CPU).toDoubleArray());
            assertArrayEquals(new long[] {0, 2, 4}, Torch.arange(0, 6, 2, DType.I64, Device.CPU).toLongArray());
            assertArrayEquals(new float[] {0f, 0.5f, 1f}, Torch.linspace(0, 1, 3, DType.F32, Device.CPU).toFloatArray());
            for (DType dt : DType.values()) {
                if (!dt.available()) {
                    // a type this libtorch lacks (float8 before 2.1) is an error, not a crash
                    var e = org.junit.jupiter.api.Assertions.assertThrows(RuntimeException.class, () -> Torch.zeros(new long[] {4}, dt, Device.CPU));
                    org.junit.jupiter.api.Assertions.assertTrue(e.getMessage().contains("is not a type of libtorch"), e.getMessage());
                    continue;
                }
                Tensor t = Torch.zeros(new long[] {4}, dt, Device.CPU);
                assertEquals(dt, t.dtype(), "dtype round trip " + dt);
            }
            assertArrayEquals(new boolean[] {true, false}, Torch.of(new boolean[] {true, false}).toBooleanArray());
            assertArrayEquals(new int[] {7, -3}, Torch.of(new int[] {7, -3}).toIntArray());
            Tensor h = Torch.of(new float[] {1.5f, -2f}).to(DType.F16);
            assertEquals(DType.F16, h.dtype());
            assertArrayEquals(new float[] {1.5f, -2f}, h.toFloatArray());
            assertArrayEquals(new float[] {1.5f, -2f}, Torch.of(new float[] {1.5f, -2f}).to(DType.BF16).toFloatArray());
        }
    }

    @Test
    void elementwiseMath() {
        try (Scope s = Scope.open()) {
            Tensor a = Torch.of(new double[] {1, 4, 9});
            Tensor b = Torch.of(new double[] {2, 2, 3});
            assertArrayEquals(new double[] {3, 6, 12}, a.add(b).toDoubleArray(), EPS);
            assertArrayEquals(new double[] {5, 8, 15}, a.add(b, 2).toDoubleArray(), EPS);
            assertArrayEquals(new double[] {-1, 2, 6}, a.sub(b).toDoubleArray(), EPS);
            assertArrayEquals(new double[] {2, 8, 27}, a.mul(b).toDoubleArray(), EPS);
            assertArrayEquals(new double[] {0.5, 2, 3}, a.div(b).toDoubleArray(), EPS);
            assertArrayEquals(new double[] {1, 16, 729}, a.pow(b).toDoubleArray(), EPS);
            assertArrayEquals(new double[] {1, 2, 3}, a.sqrt().toDoubleArray(), EPS);
            assertArrayEquals(new double[] {1, 0.5, 1.0 / 3}, a.rsqrt().toDoubleArray(), EPS);
            assertArrayEquals(new double[] {9, 6, 1}, a.rsub(10).toDoubleArray(), EPS);
            assertArrayEquals(new double[] {2, 4, 9}, a.maximum(b).toDoubleArray(), EPS);
            assertArrayEquals(new double[] {2, 4, 5}, a.clamp(2, 5).toDoubleArray(), EPS);
            assertArrayEquals(new double[] {3, 4, 9}, a.clampMin(3).toDoubleArray(), EPS);
            assertArrayEquals(new double[] {1, 4, 5}, a.clampMax(5).toDoubleArray(), EPS);
            assertArrayEquals(new boolean[] {false, true, false}, a.eq(4).toBooleanArray());
            assertArrayEquals(new boolean[] {false, true, true}, a.gt(b).toBooleanArray());
            Tensor x = Torch.of(new double[] {-1, 0, 2});
            assertArrayEquals(new double[] {0, 0, 2}, x.relu().toDoubleArray(), EPS);
            double[] sig = x.sigmoid().toDoubleArray();
            for (int i = 0; i < 3; i++) assertEquals(1 / (1 + Math.exp(-new double[] {-1, 0, 2}[i])), sig[i], EPS);
            double[] silu = x.silu().toDoubleArray();
            assertEquals(-1 / (1 + Math.E), silu[0], EPS);
            assertEquals(2 / (1 + Math.exp(-2)), silu[2], EPS);
            // GELU exact: x * Phi(x); Phi(-1) = 0.15865525393145707, Phi(2) = 0.9772498680518208
            double[] gelu = x.gelu().toDoubleArray();
            assertEquals(-0.15865525393145707, gelu[0], 1e-9);
            assertEquals(2 * 0.9772498680518208, gelu[2], 1e-9);
            // GELU tanh: 0.5 x (1 + tanh(sqrt(2/pi) (x + 0.044715 x^3)))
            double[] gt = x.geluTanh().toDoubleArray();
            double c = Math.sqrt(2 / Math.PI);
            assertEquals(0.5 * -1 * (1 + Math.tanh(c * (-1 - 0.044715))), gt[0], 1e-9);
            assertArrayEquals(new double[] {Math.exp(-1), 1, Math.exp(2)}, x.exp().toDoubleArray(), 1e-12);
            assertArrayEquals(new double[] {Math.tanh(-1), 0, Math.tanh(2)}, x.tanh().toDoubleArray(), 1e-12);
        }
    }

    @Test
    void inPlaceOps() {
        try (Scope s = Scope.open()) {
            Tensor a = Torch.of(new double[] {1, 2});
            a.add_(Torch.of(new double[] {1, 1})).mul_(3).add_(1);
            assertArrayEquals(new double[] {7, 10}, a.toDoubleArray(), EPS);
            a.addcmul_(Torch.of(new double[] {2, 2}), Torch.of(new double[] {3, 4}), 0.5);
            assertArrayEquals(new double[] {10, 14}, a.toDoubleArray(), EPS);
            a.addcdiv_(Torch.of(new double[] {4, 4}), Torch.of(new double[] {2, 4}), 1);
            assertArrayEquals(new double[] {12, 15}, a.toDoubleArray(), EPS);
            a.lerp_(Torch.of(new double[] {0, 0}), 0.5);
            assertArrayEquals(new double[] {6, 7.5}, a.toDoubleArray(), EPS);
            a.zero_();
            assertArrayEquals(new double[] {0, 0}, a.toDoubleArray(), EPS);
            a.fill_(2).copy_(Torch.of(new double[] {5, 6}));
            assertArrayEquals(new double[] {5, 6}, a.toDoubleArray(), EPS);
        }
    }

    @Test
    void viewsAndShapes() {
        try (Scope s = Scope.open()) {
            Tensor t = Torch.arange(0, 6, 1, DType.F32, Device.CPU).view(2, 3);  // [[0,1,2],[3,4,5]]
            assertArrayEquals(new float[] {0, 3, 1, 4, 2, 5}, t.transpose(0, 1).contiguous().toFloatArray());
            assertArrayEquals(new float[] {0, 3, 1, 4, 2, 5}, t.permute(1, 0).toFloatArray());
            assertArrayEquals(new float[] {1, 2, 4, 5}, t.narrow(1, 1, 2).toFloatArray());
            assertArrayEquals(new float[] {0, 2, 3, 5}, t.slice(1, 0, 3, 2).toFloatArray());
            assertArrayEquals(new float[] {3, 4, 5}, t.select(0, 1).toFloatArray());
            assertArrayEquals(new long[] {2, 1, 3}, t.unsqueeze(1).shape());
            assertArrayEquals(new long[] {2, 3}, t.unsqueeze(1).squeeze(1).shape());
            assertArrayEquals(new long[] {6}, t.flatten().shape());
            assertArrayEquals(new long[] {3, 2}, t.reshape(3, -1).shape());
            assertArrayEquals(new float[] {0, 1, 2, 0, 1, 2}, t.select(0, 0).expand(2, 3).toFloatArray());
            assertArrayEquals(new float[] {0, 1, 2, 0, 1, 2}, t.select(0, 0).repeat(2).toFloatArray());
            assertArrayEquals(new float[] {2, 1, 0, 5, 4, 3}, t.flip(1).toFloatArray());
            Tensor cat = Torch.cat(List.of(t, t), 0);
            assertArrayEquals(new long[] {4, 3}, cat.shape());
            Tensor st = Torch.stack(List.of(t, t), 0);
            assertArrayEquals(new long[] {2, 2, 3}, st.shape());
            List<Tensor> ch = t.chunk(3, 1);
            assertEquals(3, ch.size());
            assertArrayEquals(new float[] {1, 4}, ch.get(1).toFloatArray());
            List<Tensor> sp = t.split(new long[] {1, 2}, 1);
            assertArrayEquals(new float[] {1, 2, 4, 5}, sp.get(1).toFloatArray());
            assertArrayEquals(new float[] {0, 0, 0, 3, 4, 0}, t.tril(0).toFloatArray());
            assertArrayEquals(new float[] {0, 1, 2, 0, 4, 5}, t.triu(0).toFloatArray());
            assertTrue(t.isContiguous());
            assertTrue(!t.transpose(0, 1).isContiguous());
        }
    }

    @Test
    void indexing() {
        try (Scope s = Scope.open()) {
            Tensor t = Torch.arange(0, 6, 1, DType.F32, Device.CPU).view(3, 2);
            assertArrayEquals(new float[] {4, 5, 0, 1}, t.indexSelect(0, Torch.of(new long[] {2, 0})).toFloatArray());
            assertArrayEquals(new float[] {1, 2, 5}, t.gather(1, Torch.of(new long[] {1, 0, 1}, 3, 1)).toFloatArray());
            Tensor mask = Torch.of(new boolean[] {true, false, true});
            assertArrayEquals(new float[] {0, 1, 4, 5}, t.index(mask).toFloatArray());
            Tensor v = Torch.of(new float[] {1, 2, 3});
            assertArrayEquals(new float[] {-1, 2, -1}, v.maskedFill(mask, -1).toFloatArray());
            assertArrayEquals(new float[] {1, 0, 3}, Torch.where(mask, v, Torch.zeros(3)).toFloatArray());
            v.indexPut_(Torch.of(new long[] {0, 0}), Torch.of(new float[] {10, 10}), true);
            assertArrayEquals(new float[] {21, 2, 3}, v.toFloatArray());
        }
    }

    @Test
    void reductions() {
        try (Scope s = Scope.open()) {
            Tensor t = Torch.of(new double[] {1, 2, 3, 4, 5, 6}, 2, 3);
            assertEquals(21, t.sum().item(), EPS);
            assertArrayEquals(new double[] {6, 15}, t.sum(1).toDoubleArray(), EPS);
            assertArrayEquals(new long[] {2, 1}, t.sum(new long[] {1}, true).shape());
            assertEquals(3.5, t.mean().item(), EPS);
            assertArrayEquals(new double[] {2.5, 3.5, 4.5}, t.mean(0).toDoubleArray(), EPS);
            assertArrayEquals(new double[] {1, 1}, t.var(new long[] {1}, true, false).toDoubleArray(), EPS);
            assertArrayEquals(new double[] {2.0 / 3, 2.0 / 3}, t.var(new long[] {1}, false, false).toDoubleArray(), EPS);
            assertEquals(6, t.amax().item(), EPS);
            assertArrayEquals(new double[] {1, 4}, t.amin(new long[] {1}, false).toDoubleArray(), EPS);
            Tensor.Indexed m = t.max(1, false);
            assertArrayEquals(new double[] {3, 6}, m.values().toDoubleArray(), EPS);
            assertArrayEquals(new long[] {2, 2}, m.indices().toLongArray());
            assertArrayEquals(new long[] {1, 1, 1}, t.argmax(0, false).toLongArray());
            assertEquals(Math.sqrt(91), t.norm().item(), EPS);
            double lse = Math.log(Math.exp(1) + Math.exp(2) + Math.exp(3));
            assertEquals(lse, t.logsumexp(new long[] {1}, false).toDoubleArray()[0], 1e-9);
            assertArrayEquals(new double[] {1, 3, 6, 4, 9, 15}, t.cumsum(1).toDoubleArray(), EPS);
            // torch.bucketize([[1,2,3],[4,5,6]], [2, 4]) = [[0,0,1],[1,2,2]]; right=True: [[0,1,1],[2,2,2]]
            Tensor bounds = Torch.of(new float[] {2, 4}, new long[] {2});
            assertArrayEquals(new long[] {0, 0, 1, 1, 2, 2}, t.bucketize(bounds, false).toLongArray());
            assertArrayEquals(new long[] {0, 1, 1, 2, 2, 2}, t.bucketize(bounds, true).toLongArray());
            Tensor.Indexed top = t.topk(2, 1, true, true);
            assertArrayEquals(new double[] {3, 2, 6, 5}, top.values().toDoubleArray(), EPS);
            assertTrue(t.gt(0).all().item() == 1);
            assertTrue(t.gt(5).any().item() == 1);
            assertEquals(21, Torch.of(new int[] {1, 2, 3, 4, 5, 6}).sum(DType.I64).itemLong());
        }
    }

    @Test
    void products() {
        try (Scope s = Scope.open()) {
            Tensor a = Torch.of(new double[] {1, 2, 3, 4}, 2, 2);
            Tensor b = Torch.of(new double[] {5, 6, 7, 8}, 2, 2);
            assertArrayEquals(new double[] {19, 22, 43, 50}, a.matmul(b).toDoubleArray(), EPS);
            assertArrayEquals(new double[] {19, 22, 43, 50}, a.mm(b).toDoubleArray(), EPS);
            assertArrayEquals(new double[] {19, 22, 43, 50}, a.unsqueeze(0).bmm(b.unsqueeze(0)).toDoubleArray(), EPS);
            // linear: x W^T + b
            Tensor x = Torch.of(new double[] {1, 1}, 1, 2);
            assertArrayEquals(new double[] {3 + 10, 7 + 20}, Functional.linear(x, a, Torch.of(new double[] {10, 20})).toDoubleArray(), EPS);
            assertArrayEquals(new double[] {3, 7}, Functional.linear(x, a, null).toDoubleArray(), EPS);
            // baddbmm: beta*self + alpha*(b1 @ b2)
            Tensor self = Torch.ones(new long[] {1, 2, 2}, DType.F64, Device.CPU);
            assertArrayEquals(new double[] {0.5 + 38, 0.5 + 44, 0.5 + 86, 0.5 + 100},
                    Functional.baddbmm(self, a.unsqueeze(0), b.unsqueeze(0), 0.5, 2).toDoubleArray(), EPS);
            assertArrayEquals(new double[] {19, 22, 43, 50}, Torch.einsum("ij,jk->ik", a, b).toDoubleArray(), EPS);
        }
    }

    @Test
    void errorsAreTypedAndUseAfterCloseIsClear() {
        Tensor a = Torch.zeros(2, 3);
        Tensor b = Torch.zeros(4, 5);
        TorchException e = assertThrows(TorchException.class, () -> a.matmul(b));
        assertTrue(e.getMessage().contains("shapes cannot be multiplied") || e.getMessage().contains("size mismatch"), e.getMessage());
        assertTrue(!e.getMessage().contains("Exception raised from"), "no C++ backtrace in: " + e.getMessage());
        a.close();
        b.close();
        a.close();  // closing twice is harmless
        IllegalStateException ise = assertThrows(IllegalStateException.class, a::shape);
        assertEquals("tensor used after close", ise.getMessage());
    }

    @Test
    void randomIsSeeded() {
        try (Scope s = Scope.open()) {
            Rng.manualSeed(1234);
            float[] a = Torch.randn(5).toFloatArray();
            Rng.manualSeed(1234);
            float[] b = Torch.randn(5).toFloatArray();
            assertArrayEquals(a, b);
            Tensor state = Rng.getState(Device.CPU);
            float[] c = Torch.rand(new long[] {4}, DType.F32, Device.CPU).toFloatArray();
            Rng.setState(Device.CPU, state);
            assertArrayEquals(c, Torch.rand(new long[] {4}, DType.F32, Device.CPU).toFloatArray());
            for (float v : c) assertTrue(v >= 0 && v < 1);
            long[] r = Torch.randint(3, 7, new long[] {50}, Device.CPU).toLongArray();
            for (long v : r) assertTrue(v >= 3 && v < 7);
            long[] p = Torch.randperm(6, Device.CPU).sort(0, false).values().toLongArray();
            assertArrayEquals(new long[] {0, 1, 2, 3, 4, 5}, p);
            assertNull(Torch.zeros(1).grad());
        }
    }
}
