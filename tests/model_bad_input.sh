#!/bin/sh
# Models, projectors and media that llama.cpp or libmtmd would abort on (GGML_ASSERT, a
# std::bad_alloc): GGUFs made absurd here from the tiny test model (gguf_edit.py), folders,
# FIFOs and devices where a file belongs. Each must give exit status 1 (not a signal's
# 128 + n) and a message naming the file and, for a GGUF, the key and its value.
# Usage: model_bad_input.sh UMPIRE MODELS_DIR WORK_DIR
umpire=$1 models=$2 dir=$3
edit="/usr/bin/python3 $(dirname "$0")/gguf_edit.py"
rm -rf "$dir"
mkdir -p "$dir/folder"
mkfifo "$dir/fifo"
fails=0
# expect NAME MESSAGE COMMAND...: exit status 1 and MESSAGE in the output
expect() {
    name=$1 msg=$2
    shift 2
    out=$("$@" 2>&1 < /dev/null)
    rc=$?
    case "$out" in
    *"$msg"*) [ $rc -eq 1 ] && echo "ok   $name" || { echo "FAIL $name: exit $rc: $out"; fails=$((fails + 1)); } ;;
    *) echo "FAIL $name (exit $rc): $out"; fails=$((fails + 1)) ;;
    esac
}
m="$models/tiny.gguf"
# model NAME WHY EDIT...: the tiny model edited, through `umpire info` and `umpire ask`:
# "NAME.gguf: not a model llama.cpp can load (WHY"
model() {
    gguf=$1 why=$2
    shift 2
    $edit "$m" "$dir/$gguf.gguf" "$@" || { echo "FAIL $gguf: gguf_edit.py"; fails=$((fails + 1)); return; }
    expect "info: $gguf" "$gguf.gguf: not a model llama.cpp can load ($why" "$umpire" info -m "$dir/$gguf.gguf"
    expect "ask: $gguf" "$gguf.gguf: not a model llama.cpp can load ($why" "$umpire" ask -m "$dir/$gguf.gguf" -k 2 -n 2 "Why?"
}
model blocks0 "llama.block_count = 0: needs 1..512 blocks" llama.block_count=0
model blocks513 "llama.block_count = 513: needs 1..512 blocks" llama.block_count=513
model blocks_negative "llama.block_count = -2: needs 1..512 blocks" llama.block_count:i32=-2
model no_blocks "llama.block_count missing" -llama.block_count
model nextn "llama.nextn_predict_layers = 3 is more than llama.block_count = 2" llama.nextn_predict_layers=3
model experts "llama.expert_count = 1025: at most 1024 experts" llama.expert_count=1025
model experts_used "llama.expert_used_count = 2 with llama.expert_count = 0" llama.expert_used_count=2
model experts_used_zero "llama.expert_used_count = 0 with llama.expert_count = 4" llama.expert_count=4
model expert_groups "llama.expert_group_count = 3 with llama.expert_count = 4" llama.expert_count=4 \
    llama.expert_used_count=2 llama.expert_group_count=3
model rope_scaling 'llama.rope.scaling.type = "sideways": not none, linear, yarn or longrope' \
    llama.rope.scaling.type=sideways
model width0 "llama.embedding_length = 0: needs a width of at least 1" llama.embedding_length=0
model heads0 "llama.attention.head_count = 0: needs at least 1 head" llama.attention.head_count=0
model heads_negative "llama.attention.head_count = -4: needs at least 1 head" llama.attention.head_count:i32=-4
model heads3 "llama.attention.head_count = 3 does not divide llama.embedding_length = 16" llama.attention.head_count=3
model kv_heads3 "llama.attention.head_count_kv = 3 does not divide llama.attention.head_count = 2" \
    llama.attention.head_count_kv=3
model context0 "llama.context_length = 0: needs a context of at least 1 token" llama.context_length=0
model vocab0 "tokenizer.ggml.tokens empty: no vocabulary" "tokenizer.ggml.tokens=[]"
model no_arch "general.architecture missing" -general.architecture
model huge_tensor "not a GGUF file, or a damaged one: gguf_init_from_reader: tensor 'blk.0.attn_norm.weight' has offset" \
    tensor:token_embd.weight:1=1099511627776
model beyond_file "tensor output.weight of 16 x 32065 x 1 x 1 does not fit in the file" tensor:output.weight:1=32065
model wrong_shape "llama_model_load: error loading model: check_tensor_dims: tensor 'output.weight' has wrong shape" \
    tensor:output.weight:1=32063
model bad_rot "llama_model_load: error loading model: error loading model hyperparameters: invalid n_rot: 0, expected 8" \
    llama.rope.dimension_count=0
expect "a projector as the model" "tiny-mmproj.gguf: not a model llama.cpp can load (a projector: give it with --mmproj)" \
    "$umpire" info -m "$models/tiny-mmproj.gguf"
expect "not GGUF" "model_bad_input.sh: not a model llama.cpp can load (not a GGUF file" "$umpire" info -m "$0"
# projectors
projector() {
    gguf=$1 base=$2 why=$3
    shift 3
    $edit "$models/$base" "$dir/$gguf.gguf" "$@" || { echo "FAIL $gguf: gguf_edit.py"; fails=$((fails + 1)); return; }
    expect "info: $gguf" "$gguf.gguf: not a projector libmtmd can use ($why)" "$umpire" info -m "$m" --mmproj "$dir/$gguf.gguf"
}
projector vision_heads3 tiny-mmproj.gguf "clip.vision.attention.head_count = 3 does not divide clip.vision.embedding_length = 32" \
    clip.vision.attention.head_count=3
projector vision_heads0 tiny-mmproj.gguf "clip.vision.attention.head_count = 0 does not divide clip.vision.embedding_length = 32" \
    clip.vision.attention.head_count=0
projector patch_big tiny-mmproj.gguf "clip.vision.patch_size = 56 is larger than clip.vision.image_size = 28" \
    clip.vision.patch_size=56
projector patch0 tiny-mmproj.gguf "clip.vision.patch_size = 0: needs a patch of at least 1 pixel" clip.vision.patch_size=0
projector audio_heads3 tiny-audio.gguf "clip.audio.attention.head_count = 3 does not divide clip.audio.embedding_length = 32" \
    clip.audio.attention.head_count=3
expect "ask: vision_heads3" "vision_heads3.gguf: not a projector libmtmd can use (clip.vision.attention.head_count = 3" \
    "$umpire" ask -m "$m" --mmproj "$dir/vision_heads3.gguf" --image "$0" -k 2 -n 2 "What is it?"
# the projector that passes the checks still runs (the checks refuse nothing that works)
$edit "$models/tiny-mmproj.gguf" "$dir/fine.gguf" clip.vision.attention.head_count=4 &&
    "$umpire" info -m "$m" --mmproj "$dir/fine.gguf" > /dev/null 2>&1 &&
    echo "ok   a projector with 4 heads of 8 loads" || { echo "FAIL a projector with 4 heads of 8"; fails=$((fails + 1)); }
# folders, FIFOs and devices where a file belongs
expect "a folder as the model" "folder: is a directory, not a model file" "$umpire" info -m "$dir/folder"
expect "a FIFO as the model" "fifo: not a regular file (a FIFO, socket or device), not a model file" "$umpire" info -m "$dir/fifo"
expect "a device as the projector" "/dev/zero: not a regular file (a FIFO, socket or device), not a projector file" \
    "$umpire" info -m "$m" --mmproj /dev/zero
expect "a folder as --image" "folder: is a directory, not an image file" \
    "$umpire" ask -m "$m" --mmproj "$models/tiny-mmproj.gguf" --image "$dir/folder" -k 2 -n 2 "What is it?"
expect "a FIFO as --image" "fifo: not a regular file (a FIFO, socket or device), not an image file" \
    "$umpire" ask -m "$m" --mmproj "$models/tiny-mmproj.gguf" --image "$dir/fifo" -k 2 -n 2 "What is it?"
expect "a folder as --audio" "folder: is a directory, not an audio file" \
    "$umpire" ask -m "$m" --mmproj "$models/tiny-audio.gguf" --audio "$dir/folder" -k 2 -n 2 "What is it?"
expect "a device as --audio" "/dev/null: not a regular file (a FIFO, socket or device), not an audio file" \
    "$umpire" ask -m "$m" --mmproj "$models/tiny-audio.gguf" --audio /dev/null -k 2 -n 2 "What is it?"
echo "$fails failed"
[ $fails -eq 0 ]
