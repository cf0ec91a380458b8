//! Listings show only what the caller may pull: pages are filled from the
//! database batch by batch, skipping hidden items, so a page is as full as
//! the caller's view allows and cursors stay valid.

/// Collects up to `limit` items for which `visible` holds, reading batches
/// after `start` with `fetch(after, batch_size)` (ordered, exclusive
/// cursor). Returns the items and the cursor of the next page, if any.
pub async fn visible_page<T, E, F, Fut>(
    limit: usize,
    start: Option<T>,
    mut fetch: F,
    visible: impl Fn(&T) -> bool,
) -> Result<(Vec<T>, Option<T>), E>
where
    T: Clone,
    F: FnMut(Option<T>, i64) -> Fut,
    Fut: std::future::Future<Output = Result<Vec<T>, E>>,
{
    let batch = limit.saturating_add(1).min(1000);
    let batch_i64 = i64::try_from(batch).unwrap_or(1000);
    let mut items = Vec::new();
    let mut after = start;
    loop {
        let fetched = fetch(after.clone(), batch_i64).await?;
        let exhausted = fetched.len() < batch;
        if let Some(last) = fetched.last() {
            after = Some(last.clone());
        }
        items.extend(fetched.into_iter().filter(|item| visible(item)));
        if items.len() > limit {
            items.truncate(limit);
            let next = items.last().cloned();
            return Ok((items, next));
        }
        if exhausted {
            return Ok((items, None));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    async fn page(
        limit: usize,
        start: Option<u32>,
        visible: fn(&u32) -> bool,
    ) -> (Vec<u32>, Option<u32>) {
        let all: Vec<u32> = (1..=25).collect();
        visible_page(
            limit,
            start,
            |after, n| {
                let items: Vec<u32> = all
                    .iter()
                    .copied()
                    .filter(|i| after.is_none_or(|a| *i > a))
                    .take(usize::try_from(n).unwrap())
                    .collect();
                async move { Ok::<_, ()>(items) }
            },
            visible,
        )
        .await
        .unwrap()
    }

    #[tokio::test]
    async fn pages_skip_hidden_items() {
        let even = |i: &u32| i.is_multiple_of(2);
        let (items, next) = page(3, None, even).await;
        assert_eq!(items, [2, 4, 6]);
        assert_eq!(next, Some(6));
        let (items, next) = page(20, Some(6), even).await;
        assert_eq!(items, [8, 10, 12, 14, 16, 18, 20, 22, 24]);
        assert_eq!(next, None);
        let (items, next) = page(5, None, |_| false).await;
        assert!(items.is_empty() && next.is_none());
        let (items, _) = page(usize::MAX, None, |_| true).await;
        assert_eq!(items.len(), 25);
    }
}
