;; FedAvg kernel: a weighted sum of float32 vectors in f32x4 SIMD.
;;
;; Source of weighted-sum-wasm.ts; assemble with `node bin/run-ts.mjs scripts/build-wasm.ts`.
;; The memory is imported: weighted-sum-simd.ts lays out the accumulator, the weights and the staging
;; area in it and copies each client's block into the staging area before each call.

(module
  (import "env" "memory" (memory 1))

  ;; For j in [0, n rounded up to 16):
  ;;   a = init ? +0 : acc[j]
  ;;   for c in [0, count): a = a + weights[c] * src[c * stride + j]   (each op rounded to float32)
  ;;   acc[j] = a
  ;; Pointers and `stride` are in bytes; acc, src and stride must be 16-byte aligned, and the
  ;; memory past n (up to the next 16 floats) must be addressable: its lanes are computed and
  ;; ignored. Four accumulators (16 floats) stay in registers while the loop runs over the
  ;; clients, so the accumulator block is read and written once per call. Multiplies and adds
  ;; stay separate (no fused multiply-add): the product is rounded to float32, as in the JS path.
  ;; Measured with V8 (Node 20), four accumulators ran faster than eight or twelve, and unrolling
  ;; the client loop by two or four gained nothing.
  (func (export "accumulate")
    (param $acc i32) (param $src i32) (param $stride i32) (param $weights i32)
    (param $count i32) (param $n i32) (param $init i32)
    (local $q i32) (local $end i32) (local $p i32) (local $wp i32) (local $c i32)
    (local $w v128)
    (local $a0 v128) (local $a1 v128) (local $a2 v128) (local $a3 v128)

    (local.set $q (local.get $acc))
    (local.set $end
      (i32.add (local.get $acc)
        (i32.shl (i32.and (i32.add (local.get $n) (i32.const 15)) (i32.const -16)) (i32.const 2))))
    (block $done
      (loop $vectors
        (br_if $done (i32.ge_u (local.get $q) (local.get $end)))
        (if (local.get $init)
          (then
            (local.set $a0 (v128.const i64x2 0 0))
            (local.set $a1 (v128.const i64x2 0 0))
            (local.set $a2 (v128.const i64x2 0 0))
            (local.set $a3 (v128.const i64x2 0 0)))
          (else
            (local.set $a0 (v128.load offset=0 (local.get $q)))
            (local.set $a1 (v128.load offset=16 (local.get $q)))
            (local.set $a2 (v128.load offset=32 (local.get $q)))
            (local.set $a3 (v128.load offset=48 (local.get $q)))))
        (local.set $p (i32.add (local.get $src) (i32.sub (local.get $q) (local.get $acc))))
        (local.set $wp (local.get $weights))
        (local.set $c (local.get $count))
        (block $clientsDone
          (loop $clients
            (br_if $clientsDone (i32.eqz (local.get $c)))
            (local.set $w (v128.load32_splat (local.get $wp)))
            (local.set $a0 (f32x4.add (local.get $a0)
              (f32x4.mul (local.get $w) (v128.load offset=0 (local.get $p)))))
            (local.set $a1 (f32x4.add (local.get $a1)
              (f32x4.mul (local.get $w) (v128.load offset=16 (local.get $p)))))
            (local.set $a2 (f32x4.add (local.get $a2)
              (f32x4.mul (local.get $w) (v128.load offset=32 (local.get $p)))))
            (local.set $a3 (f32x4.add (local.get $a3)
              (f32x4.mul (local.get $w) (v128.load offset=48 (local.get $p)))))
            (local.set $p (i32.add (local.get $p) (local.get $stride)))
            (local.set $wp (i32.add (local.get $wp) (i32.const 4)))
            (local.set $c (i32.sub (local.get $c) (i32.const 1)))
            (br $clients)))
        (v128.store offset=0 (local.get $q) (local.get $a0))
        (v128.store offset=16 (local.get $q) (local.get $a1))
        (v128.store offset=32 (local.get $q) (local.get $a2))
        (v128.store offset=48 (local.get $q) (local.get $a3))
        (local.set $q (i32.add (local.get $q) (i32.const 64)))
        (br $vectors)))))
