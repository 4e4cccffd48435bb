# CPU demo of a snapshot teacher: a ResNet-18 student keeps its C5 map (through a 1x1
# adapter) close to a frozen copy of its own backbone, taken at the start of the run and
# refreshed every 10 iterations by SnapshotTeacherHook (the shape of DINOv3's Gram teacher).
# The snapshot is in the checkpoint, so a resumed run is exact.
_base_ = ['./distill_vit-s16_to_r18_demo.py']
model = dict(
    adapter=dict(out_channels=512),
    teachers=dict(_delete_=True, anchor=dict(type='SnapshotTeacher', modules=('backbone', ),
                                             every=10)),
    teacher='anchor',
)
custom_hooks = [dict(type='SnapshotTeacherHook'), {{_base_.EVAL_HOOK}}]
work_dir = 'work_dirs/anchor_r18_demo'
