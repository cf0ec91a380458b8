//! The blob store contract, run against whichever backend the harness
//! selects: local disk by default, S3 (moto) under tests/scripts/with-s3.

use bytes::Bytes;
use futures::StreamExt;
use integration_tests::{fixtures, storage};
use tempfile::TempDir;
use uuid::Uuid;
use wkg_gateway::digest::{Algorithm, Digest};
use wkg_gateway::storage::{Storage, StorageKey};

fn open() -> (TempDir, Storage) {
    let data = TempDir::new().unwrap();
    let storage = storage::open(data.path(), &storage::storage_for_test());
    (data, storage)
}

async fn read_all(
    storage: &Storage,
    key: StorageKey<'_>,
    range: Option<std::ops::Range<u64>>,
) -> Vec<u8> {
    let mut stream = storage.read(key, range).await.unwrap().stream;
    let mut bytes = Vec::new();
    while let Some(chunk) = stream.next().await {
        bytes.extend_from_slice(&chunk.unwrap());
    }
    bytes
}

#[tokio::test]
async fn writes_are_invisible_until_committed() {
    let (_data, storage) = open();
    let content = fixtures::pseudo_random(20 * 1024 * 1024 + 17, 1);
    let digest = Digest::of(Algorithm::Sha256, &content);
    let key = StorageKey::Blob(&digest);

    let mut writer = storage.writer(key).await.unwrap();
    for piece in content.chunks(1024 * 1024 + 3) {
        writer.write(Bytes::copy_from_slice(piece)).await.unwrap();
    }
    assert!(!storage.exists(key).await.unwrap(), "visible before commit");
    writer.commit().await.unwrap();
    assert!(storage.exists(key).await.unwrap());
    assert!(
        read_all(&storage, key, None).await == content,
        "round trip of a multi-part object"
    );
    assert_eq!(read_all(&storage, key, Some(5..15)).await, &content[5..15]);
    let tail = content.len() as u64;
    assert_eq!(
        read_all(&storage, key, Some(tail - 3..tail)).await,
        &content[content.len() - 3..]
    );
}

#[tokio::test]
async fn aborted_writes_leave_nothing() {
    let (_data, storage) = open();
    let digest = Digest::of(Algorithm::Sha256, b"aborted");
    let key = StorageKey::Blob(&digest);
    let mut writer = storage.writer(key).await.unwrap();
    writer.write(Bytes::from_static(b"aborted")).await.unwrap();
    writer.abort().await;
    assert!(!storage.exists(key).await.unwrap());
    let missing = storage.read(key, None).await;
    assert!(
        matches!(missing, Err(wkg_gateway::storage::Error::NotFound(_))),
        "reading a missing object is NotFound"
    );
}

#[tokio::test]
async fn rename_list_and_delete() {
    let (_data, storage) = open();
    let upload = Uuid::new_v4();
    let chunks: Vec<Uuid> = (0..3).map(|_| Uuid::new_v4()).collect();
    for (i, chunk) in chunks.iter().enumerate() {
        let mut writer = storage
            .writer(StorageKey::UploadChunk {
                upload,
                chunk: *chunk,
            })
            .await
            .unwrap();
        writer.write(Bytes::from(vec![i as u8; 10])).await.unwrap();
        writer.commit().await.unwrap();
    }
    let mut listed = storage.list(StorageKey::Upload(upload)).await.unwrap();
    listed.sort();
    let mut expected: Vec<String> = chunks
        .iter()
        .map(|c| {
            StorageKey::UploadChunk { upload, chunk: *c }
                .path()
                .to_string()
        })
        .collect();
    expected.sort();
    assert_eq!(listed, expected);

    let digest = Digest::of(Algorithm::Sha256, &[0u8; 10]);
    storage
        .rename(
            StorageKey::UploadChunk {
                upload,
                chunk: chunks[0],
            },
            StorageKey::Blob(&digest),
        )
        .await
        .unwrap();
    assert_eq!(
        read_all(&storage, StorageKey::Blob(&digest), None).await,
        vec![0u8; 10]
    );
    assert_eq!(
        storage
            .list(StorageKey::Upload(upload))
            .await
            .unwrap()
            .len(),
        2
    );

    storage
        .delete_prefix(StorageKey::Upload(upload))
        .await
        .unwrap();
    assert!(
        storage
            .list(StorageKey::Upload(upload))
            .await
            .unwrap()
            .is_empty()
    );
    storage.delete(StorageKey::Blob(&digest)).await.unwrap();
    assert!(!storage.exists(StorageKey::Blob(&digest)).await.unwrap());
    storage.delete(StorageKey::Blob(&digest)).await.unwrap(); // idempotent
}
